// A failed API call, carrying the Kubernetes Status the server answered with.
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: { retryAfterSeconds?: number },
  ) {
    super(message);
  }
}

export const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;
export const isConflict = (e: unknown) => e instanceof ApiError && e.code === 409 && e.reason === 'Conflict';
export const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.code === 409 && e.reason === 'AlreadyExists';
export const isGone = (e: unknown) => e instanceof ApiError && (e.code === 410 || e.reason === 'Expired');

/** The ApiError for a non-2xx response, from its Status body when it has one. */
export async function errorFrom(res: Response, what: string): Promise<ApiError> {
  const text = await res.text();
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string; details?: { retryAfterSeconds?: number } };
    return new ApiError(res.status, status.reason ?? 'Unknown', status.message ?? `${what}: HTTP ${res.status}`, status.details);
  } catch {
    return new ApiError(res.status, 'Unknown', `${what}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
}

/** A delete with a uid precondition met a newer object of the same name: the one meant is gone. */
export const isPreconditionFailed = (e: unknown) => e instanceof ApiError && e.code === 409 && e.message.startsWith('Precondition failed');

/** For `.catch(ignoreNotFound)`: the object is already gone, which is what the caller wanted. */
export function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}

/** For `.catch(ignoreGone)`: gone, or replaced by another object of the same name. */
export function ignoreGone(err: unknown): void {
  if (!isNotFound(err) && !isPreconditionFailed(err)) throw err;
}
