// K3s's secrets-encrypt endpoints, on the API server's port: GET /v1-skiff/encrypt/status and PUT
// /v1-skiff/encrypt/config (K3s: /v1-k3s/encrypt/...). They sit behind the common authentication and
// authorization, and answer only the cluster's administrators (group system:masters, which the admin
// certificate under <data-dir>/server/tls carries): K3s lets only the server's own token in, and a
// node or a pod's service account has no business rotating the cluster's keys.
import type { Hono } from 'hono';
import { badRequest } from '../k8s/errors.js';
import { EncryptionRequestError, type EncryptionRequest, type SecretsEncryption } from '../api/encryption/secrets-encrypt.js';
import { type AdminEnv, jsonObject, requireAdmin } from './admin-routes.js';
import { jsonResponse } from './negotiate.js';

export const ENCRYPT_STATUS_PATH = '/v1-skiff/encrypt/status';
export const ENCRYPT_CONFIG_PATH = '/v1-skiff/encrypt/config';

const WHY = "secrets-encrypt is for the cluster's administrators (group system:masters)";

export function encryptionRoutes(encryption: SecretsEncryption): (app: Hono<AdminEnv>) => void {
  return (app) => {
    app.get(ENCRYPT_STATUS_PATH, (c) => {
      requireAdmin(c, WHY);
      return jsonResponse(encryption.status());
    });
    app.put(ENCRYPT_CONFIG_PATH, async (c) => {
      requireAdmin(c, WHY);
      const req = await jsonObject<EncryptionRequest>(c, '{"stage": "..."} or {"enable": true|false}');
      try {
        return jsonResponse({ message: await encryption.request(req) });
      } catch (err) {
        if (err instanceof EncryptionRequestError) throw badRequest(err.message);
        throw err;
      }
    });
  };
}
