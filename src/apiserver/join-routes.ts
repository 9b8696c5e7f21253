// How an agent joins. GET /cacerts (unauthenticated) hands out the server CA, which the agent checks
// against the hash in its K10 token before trusting it. POST /v1-skiff/node-certificate carries the
// token's secret (HTTP basic, user "node" or "server", as K3s agents authenticate; or a bearer), the
// node's name and password and a certificate request for system:node:<name> in system:nodes. The
// secret may be the server's token, the agent token (--agent-token) or a bootstrap token (`skiff
// token create`) that is still valid; the password must be the one that first claimed the name
// (node-password.ts). The request becomes a CertificateSigningRequest
// (kubernetes.io/kube-apiserver-client-kubelet) made as the token's bootstrap identity, which the
// approving controller approves and the signing controller signs; the answer is the certificate once
// issued (202 while it waits, 403 if denied).
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import { ApiError, badRequest, isAlreadyExists } from '../k8s/errors.js';
import type { StoredObject } from '../k8s/object.js';
import { KUBELET_CLIENT_SIGNER, nodeUser } from '../k8s/nodes.js';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { dns1123Subdomain } from '../api/validation/names.js';
import { inspectCertificateRequest } from '../pki/csr.js';
import { NODE_CERTIFICATE_PATH, parseJoinToken, tokenAccepted } from '../pki/join-token.js';
import type { Bindings, UserInfo } from './authn.js';
import { BOOTSTRAPPERS_GROUP, bootstrapTokenUser } from './bootstrap-tokens.js';
import { jsonResponse } from './negotiate.js';
import { ensureNodePassword } from './node-password.js';

export interface NodeJoin {
  caPem: string;
  /** The CA of client certificates: agents accept calls from the API server's. */
  clientCaPem: string;
  /** The server's join token (K10 form). */
  token: string;
  /** --agent-token (K10 form), if the server has one. */
  agentToken?: string;
  /** How long one request waits for its certificate before answering 202 (default 20 s). */
  waitMs?: number;
}

/** The secret an agent offers: HTTP basic (user `node` or `server`) or a bearer token. */
export function offeredSecret(header: string | undefined): string | undefined {
  const basic = header?.match(/^Basic\s+(\S+)$/i);
  if (basic) {
    const [user, ...rest] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
    return user === 'node' || user === 'server' ? rest.join(':') : undefined;
  }
  return header?.match(/^Bearer\s+(\S+)$/i)?.[1];
}

/** Who the offered secret makes the joining agent: a bootstrap identity, or undefined for a bad secret. */
async function joiner(join: NodeJoin, objects: ObjectStore, registry: Registry, secret: string): Promise<UserInfo | undefined> {
  const bootstrap = await bootstrapTokenUser(objects, registry, parseJoinToken(secret).password);
  if (bootstrap) return bootstrap;
  if (join.agentToken && tokenAccepted(secret, join.agentToken, join.caPem))
    return { username: 'node', groups: [BOOTSTRAPPERS_GROUP, 'skiff:agent'] };
  if (tokenAccepted(secret, join.token, join.caPem)) return { username: 'server', groups: [BOOTSTRAPPERS_GROUP, 'skiff:server'] };
  return undefined;
}

interface JoinBody {
  nodeName?: unknown;
  nodePassword?: unknown;
  certificateRequest?: unknown;
}

const approval = (csr: CertificateSigningRequest, type: string) =>
  csr.status?.conditions?.find((c) => c.type === type && c.status === 'True');

export function joinRoutes(
  join: NodeJoin,
  objects: ObjectStore,
  registry: Registry,
): (app: Hono<{ Bindings: Bindings; Variables: { user: UserInfo } }>) => void {
  const csrs = registry.byResource('certificates.k8s.io', 'v1', 'certificatesigningrequests')!;
  return (app) => {
    app.get('/cacerts', () => new Response(join.caPem, { headers: { 'content-type': 'text/plain' } }));
    app.post(NODE_CERTIFICATE_PATH, async (c) => {
      const secret = offeredSecret(c.req.header('authorization'));
      const user = secret ? await joiner(join, objects, registry, secret).catch(() => undefined) : undefined;
      if (!user) throw new ApiError(401, 'Unauthorized', 'the join token is not valid for this server');
      let body: JoinBody;
      try {
        body = await c.req.json();
      } catch {
        throw badRequest('the body must be JSON: {"nodeName": "<name>", "nodePassword": "<password>", "certificateRequest": "<PEM>"}');
      }
      const name = typeof body.nodeName === 'string' ? body.nodeName : '';
      const problems = name ? dns1123Subdomain(name) : ['a node name is required'];
      if (problems.length) throw badRequest(`invalid node name "${name}": ${problems.join('; ')}`);
      if (typeof body.nodePassword !== 'string' || !body.nodePassword) throw badRequest('a node password is required');
      const request = typeof body.certificateRequest === 'string' ? body.certificateRequest : '';
      const want = nodeUser(name);
      let subject: Awaited<ReturnType<typeof inspectCertificateRequest>>;
      try {
        subject = await inspectCertificateRequest(request);
      } catch (err) {
        throw badRequest(`invalid certificate request: ${(err as Error).message}`);
      }
      if (subject.commonName !== want.username || subject.organizations.join(',') !== want.groups.join(','))
        throw badRequest(`the certificate request must be for ${want.username} in ${want.groups.join(',')}`);
      await ensureNodePassword(objects, registry, name, body.nodePassword);

      // One request, one CertificateSigningRequest: an agent asking again while it waits finds its own.
      const csrName = `node-csr-${createHash('sha256').update(`${user.username}\n${request}`).digest('base64url').slice(0, 43)}`;
      const spec = {
        request: Buffer.from(request).toString('base64'),
        signerName: KUBELET_CLIENT_SIGNER,
        usages: ['digital signature', 'client auth'],
      };
      try {
        await objects.create(
          csrs,
          undefined,
          { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name: csrName }, spec },
          // Made as the token's identity, authenticated as any request is (system:authenticated).
          { user: { ...user, groups: [...user.groups, 'system:authenticated'] } },
        );
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const deadline = Date.now() + (join.waitMs ?? 20_000);
      for (;;) {
        const csr = (await objects.get(csrs, undefined, csrName)) as StoredObject & CertificateSigningRequest;
        const denied = approval(csr, 'Denied') ?? approval(csr, 'Failed');
        if (denied)
          throw new ApiError(
            403,
            'Forbidden',
            `the certificate signing request ${csrName} was ${denied.type.toLowerCase()}: ${denied.message ?? denied.reason ?? ''}`,
          );
        if (csr.status?.certificate) {
          const certificate = Buffer.from(csr.status.certificate, 'base64').toString('utf8');
          return jsonResponse({ certificate, ca: join.caPem, clientCa: join.clientCaPem, csr: csrName }, 200);
        }
        if (Date.now() >= deadline) {
          const message = `waiting for the certificate signing request ${csrName} to be approved and signed`;
          return jsonResponse({ csr: csrName, message }, 202);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    });
  };
}
