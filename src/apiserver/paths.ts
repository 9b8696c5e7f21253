// Resource URLs: /api/v1/... and /apis/<group>/<version>/..., namespaced or not, with an optional
// name and subresource, and the legacy /watch/ prefix.
import { ApiError, badRequest } from '../k8s/errors.js';
import type { Registry } from '../api/registry/registry.js';
import type { ResourceDef } from '../api/registry/types.js';

export interface ResourcePath {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The request used the deprecated /watch/ path form. */
  watchPath: boolean;
}

export interface GroupVersionPath {
  group: string;
  version: string;
  rest: string[];
}

/** Splits /api/v1/... or /apis/g/v/...; undefined for anything else (discovery roots). */
export function splitGroupVersion(pathname: string): GroupVersionPath | undefined {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  if (parts[0] === 'api' && parts.length >= 2) return { group: '', version: parts[1]!, rest: parts.slice(2) };
  if (parts[0] === 'apis' && parts.length >= 3) return { group: parts[1]!, version: parts[2]!, rest: parts.slice(3) };
  return undefined;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function notFoundPath(message: string): ApiError {
  return new ApiError(404, 'NotFound', message);
}

/** A name or namespace from the path must be one path segment, as upstream's IsValidPathSegmentName. */
function checkSegmentName(what: 'Name' | 'Namespace', value: string): void {
  const problems = [
    ...(value === '.' || value === '..' ? [`may not be '${value}'`] : []),
    ...['/', '%'].filter((c) => value.includes(c)).map((c) => `may not contain '${c}'`),
  ];
  if (problems.length > 0) throw badRequest(`${what} parameter invalid: ${JSON.stringify(value)}: ${problems.join(';')}`);
}

export function resolveResourcePath(registry: Registry, gv: GroupVersionPath): ResourcePath {
  let rest = gv.rest;
  const watchPath = rest[0] === 'watch';
  if (watchPath) rest = rest.slice(1);
  let namespace: string | undefined;
  // namespaces/<ns>/<resource>... is a namespaced resource, except a namespace's own subresources.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2]!))) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  const gvName = gv.group ? `${gv.group}/${gv.version}` : gv.version;
  const def = plural === undefined ? undefined : registry.byResource(gv.group, gv.version, plural);
  if (!def) throw notFoundPath(`the server could not find the requested resource (${gvName} ${plural ?? ''})`.replace(' )', ')'));
  if (namespace !== undefined && !def.namespaced)
    throw notFoundPath(`the server could not find the requested resource: ${plural} is not namespaced`);
  if (extra.length > 0 && !(subresource === 'proxy')) throw notFoundPath(`the server could not find the requested resource`);
  if (namespace !== undefined) checkSegmentName('Namespace', namespace);
  if (name !== undefined) checkSegmentName('Name', name);
  return { def, namespace, name, subresource, watchPath };
}
