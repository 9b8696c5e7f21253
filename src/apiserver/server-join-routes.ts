// How a server joins another (K3s's /v1-k3s/server-bootstrap): with the server token only (not an
// agent or bootstrap token), it fetches the cluster's bootstrap data, sealed with that token, and,
// when the cluster runs embedded etcd, asks to be added as a member before its own member starts.
import type { Hono } from 'hono';
import { ApiError, badRequest } from '../k8s/errors.js';
import { tokenAccepted } from '../pki/join-token.js';
import type { Bindings, UserInfo } from './authn.js';
import { offeredSecret } from './join-routes.js';
import { jsonResponse } from './negotiate.js';

export const SERVER_BOOTSTRAP_PATH = '/v1-skiff/server-bootstrap';
export const ETCD_MEMBERS_PATH = '/v1-skiff/etcd-members';

export interface ServerJoin {
  caPem: string;
  /** The server's token (K10 form): the only one that lets a server join. */
  token: string;
  /** The cluster's bootstrap data, sealed with the token's secret. */
  bootstrap(): Buffer;
  /** Adds an etcd member and answers the `initial-cluster` it starts with; absent without embedded etcd. */
  addEtcdMember?(name: string, peerUrl: string): Promise<string>;
}

export function serverJoinRoutes(join: ServerJoin): (app: Hono<{ Bindings: Bindings; Variables: { user: UserInfo } }>) => void {
  const requireServerToken = (authorization: string | undefined) => {
    const secret = offeredSecret(authorization);
    if (!secret || !tokenAccepted(secret, join.token, join.caPem))
      throw new ApiError(401, 'Unauthorized', "the token is not this cluster's server token");
  };
  return (app) => {
    app.get(SERVER_BOOTSTRAP_PATH, (c) => {
      requireServerToken(c.req.header('authorization'));
      return new Response(new Uint8Array(join.bootstrap()), { headers: { 'content-type': 'application/octet-stream' } });
    });
    app.post(ETCD_MEMBERS_PATH, async (c) => {
      requireServerToken(c.req.header('authorization'));
      if (!join.addEtcdMember) throw badRequest('this server does not run embedded etcd: its cluster was not started with --cluster-init');
      const body = (await c.req.json().catch(() => undefined)) as { name?: unknown; peerURL?: unknown } | undefined;
      if (typeof body?.name !== 'string' || !body.name || typeof body.peerURL !== 'string' || !/^https:\/\/\S+$/.test(body.peerURL))
        throw badRequest('the body must be JSON: {"name": "<node name>", "peerURL": "https://<address>:2380"}');
      return jsonResponse({ initialCluster: await join.addEtcdMember(body.name, body.peerURL) }, 200);
    });
  };
}
