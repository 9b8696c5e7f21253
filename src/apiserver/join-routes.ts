// How an agent joins: GET /cacerts (unauthenticated) hands out the server CA, which the agent checks
// against the hash in its K10 token before trusting it; POST /v1-skiff/node-certificate, with the
// token's secret as the password (HTTP basic, user "node", as K3s agents authenticate), answers a
// client certificate for system:node:<name> in group system:nodes that the agent uses from then on.
import type { Hono } from 'hono';
import { ApiError, badRequest } from '../k8s/errors.js';
import { dns1123Subdomain } from '../api/validation/names.js';
import { NODE_CERTIFICATE_PATH, tokenAccepted } from '../pki/join-token.js';
import type { Bindings, UserInfo } from './authn.js';
import { jsonResponse } from './negotiate.js';

export interface NodeJoin {
  caPem: string;
  /** The CA of client certificates: agents accept calls from the API server's. */
  clientCaPem: string;
  /** The server's join token (K10 form). */
  token: string;
  issueNodeCertificate(nodeName: string): Promise<{ certPem: string; keyPem: string }>;
}

/** The secret an agent offers: HTTP basic (user `node` or `server`) or a bearer token. */
function offeredSecret(header: string | undefined): string | undefined {
  const basic = header?.match(/^Basic\s+(\S+)$/i);
  if (basic) {
    const [user, ...rest] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
    return user === 'node' || user === 'server' ? rest.join(':') : undefined;
  }
  return header?.match(/^Bearer\s+(\S+)$/i)?.[1];
}

export function joinRoutes(join: NodeJoin): (app: Hono<{ Bindings: Bindings; Variables: { user: UserInfo } }>) => void {
  return (app) => {
    app.get('/cacerts', () => new Response(join.caPem, { headers: { 'content-type': 'text/plain' } }));
    app.post(NODE_CERTIFICATE_PATH, async (c) => {
      const secret = offeredSecret(c.req.header('authorization'));
      if (!secret || !tokenAccepted(secret, join.token, join.caPem))
        throw new ApiError(401, 'Unauthorized', 'the join token is not valid for this server');
      let body: { nodeName?: unknown };
      try {
        body = await c.req.json();
      } catch {
        throw badRequest('the body must be JSON: {"nodeName": "<name>"}');
      }
      const name = typeof body.nodeName === 'string' ? body.nodeName : '';
      const problems = name ? dns1123Subdomain(name) : ['a node name is required'];
      if (problems.length) throw badRequest(`invalid node name "${name}": ${problems.join('; ')}`);
      const pair = await join.issueNodeCertificate(name);
      return jsonResponse({ certificate: pair.certPem, key: pair.keyPem, ca: join.caPem, clientCa: join.clientCaPem }, 200);
    });
  };
}
