// A failed API call becomes the ApiError of the Status the server answered with.
import { ApiError, type StatusReason } from '../k8s/errors.js';

/** The ApiError for a non-2xx response, from its Status body when it has one. */
export async function errorFrom(res: Response, what: string): Promise<ApiError> {
  const text = await res.text();
  try {
    const status = JSON.parse(text) as { reason?: StatusReason; message?: string; details?: { retryAfterSeconds?: number } };
    return new ApiError(res.status, status.reason ?? 'Unknown', status.message ?? `${what}: HTTP ${res.status}`, status.details);
  } catch {
    return new ApiError(res.status, 'Unknown', `${what}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
}
