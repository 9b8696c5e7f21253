// Datastore failures in Kubernetes' words.
import { ApiError, alreadyExists, badRequest, conflict, notFound, type ResourceName } from '../../k8s/errors.js';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  InvalidContinueError,
  KeyExistsError,
  KeyNotFoundError,
} from '../../store/index.js';

export const MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

export function tooOld(requested: number | string, oldest: number): ApiError {
  return new ApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

/**
 * A write that lost a race: another writer changed the object after it was read. Distinct from a
 * conflict with a client's own precondition or resourceVersion, because a server-side
 * read-modify-write retries it against the latest object (as kube-apiserver's guaranteed update).
 */
export class StaleWriteError extends ApiError {
  constructor(r: ResourceName, name: string) {
    const c = conflict(r, name, MODIFIED);
    super(c.code, c.reason, c.message, c.details);
  }
}

export function toApiError(err: unknown, r: ResourceName, name: string): unknown {
  if (err instanceof KeyExistsError) return alreadyExists(r, name);
  if (err instanceof KeyNotFoundError) return notFound(r, name);
  if (err instanceof ConflictError) return new StaleWriteError(r, name);
  if (err instanceof CompactedError) return tooOld(err.requested, err.oldestAvailable);
  if (err instanceof InvalidContinueError) return badRequest('the provided continue parameter is not valid');
  if (err instanceof FutureRevisionError) {
    return new ApiError(504, 'Timeout', `Too large resource version: ${err.requested}, current: ${err.current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    });
  }
  return err;
}

/** Bounds a retry loop that, with writers this fast, only a runaway writer could exhaust. */
const MAX_RACES = 100;

/**
 * Retries `attempt`, which reads the latest object and writes it, while other writers keep winning
 * the race. Conflicts with what the client asked for (a precondition) are not retried.
 */
export async function retryOnModified<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof StaleWriteError) || i >= MAX_RACES) throw err;
    }
  }
}
