// Boolean query parameters as Go's strconv.ParseBool reads them, since every Kubernetes client
// writes them its own way (kubectl `true`, the Python client `True`, some `1`).
import { badRequest } from '../k8s/errors.js';

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** The boolean parameters of the API's option kinds (list, watch, get, delete, patch, logs, exec, attach). */
const BOOLEAN_PARAMS = [
  'watch',
  'allowWatchBookmarks',
  'sendInitialEvents',
  'pretty',
  'force',
  'orphanDependents',
  'ignoreStoreReadErrorWithClusterBreakingPotential',
  'follow',
  'previous',
  'timestamps',
  'insecureSkipTLSVerifyBackend',
  'stdin',
  'stdout',
  'stderr',
  'tty',
];

/** `name`'s value, or undefined when absent; a value Go would not parse is a 400 naming it. */
export function queryBool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw badRequest(`invalid value for query parameter ${name}: "${v}": must be a boolean (true or false)`);
}

/** Rejects a request whose boolean parameters do not parse, before anything reads them. */
export function checkBooleanParams(q: URLSearchParams): void {
  for (const name of BOOLEAN_PARAMS) queryBool(q, name);
}
