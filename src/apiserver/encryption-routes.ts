// K3s's secrets-encrypt endpoints, on the API server's port: GET /v1-skiff/encrypt/status and PUT
// /v1-skiff/encrypt/config (K3s: /v1-k3s/encrypt/...). They sit behind the common authentication and
// authorization, and answer only the cluster's administrators (group system:masters, which the admin
// certificate under <data-dir>/server/tls carries): K3s lets only the server's own token in, and a
// node or a pod's service account has no business rotating the cluster's keys.
import type { Context, Hono } from 'hono';
import { ApiError, badRequest } from '../k8s/errors.js';
import { EncryptionRequestError, type EncryptionRequest, type SecretsEncryption } from '../api/encryption/secrets-encrypt.js';
import type { Bindings, UserInfo } from './authn.js';
import { jsonResponse } from './negotiate.js';

export const ENCRYPT_STATUS_PATH = '/v1-skiff/encrypt/status';
export const ENCRYPT_CONFIG_PATH = '/v1-skiff/encrypt/config';

type Env = { Bindings: Bindings; Variables: { user: UserInfo } };

function requireAdmin(c: Context<Env>): void {
  const user = c.get('user');
  if (!user?.groups?.includes('system:masters'))
    throw new ApiError(
      403,
      'Forbidden',
      `forbidden: User "${user?.username ?? 'system:anonymous'}" cannot ${c.req.method === 'GET' ? 'get' : 'update'} path ` +
        `"${c.req.path}": secrets-encrypt is for the cluster's administrators (group system:masters)`,
    );
}

export function encryptionRoutes(encryption: SecretsEncryption): (app: Hono<Env>) => void {
  return (app) => {
    app.get(ENCRYPT_STATUS_PATH, (c) => {
      requireAdmin(c);
      return jsonResponse(encryption.status());
    });
    app.put(ENCRYPT_CONFIG_PATH, async (c) => {
      requireAdmin(c);
      let req: EncryptionRequest;
      try {
        req = await c.req.json();
      } catch {
        throw badRequest('the body must be JSON: {"stage": "..."} or {"enable": true|false}');
      }
      if (typeof req !== 'object' || req === null) throw badRequest('the body must be a JSON object');
      try {
        return jsonResponse({ message: await encryption.request(req) });
      } catch (err) {
        if (err instanceof EncryptionRequestError) throw badRequest(err.message);
        throw err;
      }
    });
  };
}
