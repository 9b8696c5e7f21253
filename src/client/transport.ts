// How the client reaches the API: over HTTPS with the cluster's certificates (agents, tools, other
// servers), or in-process through the hono app's fetch with a fixed identity (the controllers and
// scheduler inside `skiff server`). Either way a call is a web Request in, a web Response out.
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

export interface TransportRequest {
  body?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export type Transport = (method: string, path: string, init?: TransportRequest) => Promise<Response>;

/** Anything with hono's `fetch(request, env)`: the API app, called with the caller's identity. */
export interface FetchApp {
  fetch(request: Request, env: { user: { username: string; groups: string[] } }): Response | Promise<Response>;
}

export function inProcessTransport(app: FetchApp, user: { username: string; groups: string[] }): Transport {
  return async (method, path, init = {}) =>
    app.fetch(new Request(`https://in-process${path}`, { method, body: init.body, headers: init.headers, signal: init.signal }), { user });
}

export interface HttpsTarget {
  server: string;
  caPem: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
}

const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * Requests with the target's credentials. A client certificate swapped in the target (a node's
 * renewed certificate) is used from the next request on; connections made with the old one close.
 */
export function httpsTransport(target: HttpsTarget): Transport {
  const agent = credentialedAgent(target);
  const base = new URL(target.server);
  return (method, path, init) => httpsRequest(agent(), base, target.token, method, path, init);
}

/** The agent to send with now: a new one (and the old one's connections closed) once the client certificate was swapped. */
export function credentialedAgent(credentials: Omit<HttpsTarget, 'server'>): () => https.Agent {
  // No cap on sockets: every informer holds a watch open, and a capped pool would starve the rest.
  const make = () => new https.Agent({ ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem, keepAlive: true });
  let agent = make();
  let pair = [credentials.certPem, credentials.keyPem];
  return () => {
    if (pair[0] !== credentials.certPem || pair[1] !== credentials.keyPem) {
      const old = agent;
      agent = make();
      pair = [credentials.certPem, credentials.keyPem];
      old.destroy();
    }
    return agent;
  };
}

/**
 * One request to `base`, resolved with the Response once its headers are in. `onRequest` sees the
 * request before it is sent (to time its connection, say); an error it destroys the request with rejects.
 */
export function httpsRequest(
  agent: https.Agent,
  base: URL,
  token: string | undefined,
  method: string,
  path: string,
  init: TransportRequest = {},
  onRequest?: (req: ClientRequest) => void,
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = https.request(
      { host: base.hostname.replace(/^\[|\]$/g, ''), port: base.port || 443, path, method, agent, headers, signal: init.signal },
      (res) => {
        const responseHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) responseHeaders.set(k, Array.isArray(v) ? v.join(', ') : v);
        const status = res.statusCode ?? 500;
        if (NULL_BODY.has(status)) {
          res.resume();
          resolve(new Response(null, { status, headers: responseHeaders }));
        } else resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, headers: responseHeaders }));
      },
    );
    onRequest?.(req);
    req.on('error', reject);
    req.end(init.body);
  });
}
