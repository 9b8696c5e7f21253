// Datastore failures in Kubernetes' words.
import { ApiError, alreadyExists, badRequest, conflict, notFound, type ResourceName } from '../errors.js';
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

export function toApiError(err: unknown, r: ResourceName, name: string): unknown {
  if (err instanceof KeyExistsError) return alreadyExists(r, name);
  if (err instanceof KeyNotFoundError) return notFound(r, name);
  if (err instanceof ConflictError) return conflict(r, name, MODIFIED);
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

/** Retries `attempt` while the object keeps changing under it (a read-modify-write that lost a race). */
export async function retryOnModified<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'Conflict' && err.message.endsWith(MODIFIED)) || i >= 10) throw err;
    }
  }
}
