// What Skiff's own administrative endpoints (secrets-encrypt, snapshots) share: they sit behind the
// common authentication and answer only the cluster's administrators (group system:masters, which the
// admin certificate under <data-dir>/server/tls carries), and read a JSON object as their request.
import type { Context } from 'hono';
import { ApiError, badRequest } from '../k8s/errors.js';
import type { Bindings, UserInfo } from './authn.js';

export type AdminEnv = { Bindings: Bindings; Variables: { user: UserInfo } };

const VERBS: Record<string, string> = { GET: 'get', PUT: 'update', POST: 'create' };

/** Refuses anyone outside system:masters, in the authorizer's words with `why` added. */
export function requireAdmin(c: Context<AdminEnv>, why: string): void {
  const user = c.get('user');
  if (user?.groups?.includes('system:masters')) return;
  const verb = VERBS[c.req.method] ?? c.req.method.toLowerCase();
  throw new ApiError(
    403,
    'Forbidden',
    `forbidden: User "${user?.username ?? 'system:anonymous'}" cannot ${verb} path "${c.req.path}": ${why}`,
  );
}

/** The request body as a JSON object; anything else is a 400 showing the expected `shape`. */
export async function jsonObject<T>(c: Context<AdminEnv>, shape: string): Promise<T> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw badRequest(`the body must be JSON: ${shape}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  return body as T;
}
