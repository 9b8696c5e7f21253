// A client of an ingress for tests: a request to an address and port with a Host header (and over
// TLS with a server name), as a browser whose DNS points the name there would send it; and an
// Upgrade whose bytes come back through the joined connection.
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

export interface IngressAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** Over TLS: the subjectAltName of the certificate served (e.g. "DNS:a.example.com"). */
  certificateNames?: string;
}

export interface IngressRequest {
  address: string;
  port: number;
  host: string;
  path?: string;
  /** Over TLS, with SNI `host`. */
  tls?: boolean;
  headers?: Record<string, string>;
}

export function ingressGet(r: IngressRequest): Promise<IngressAnswer> {
  return new Promise((resolve, reject) => {
    const options = {
      host: r.address,
      port: r.port,
      path: r.path ?? '/',
      headers: { host: r.host, ...r.headers },
      agent: false as const,
      timeout: 5000,
    };
    const done = (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const names = r.tls ? (res.socket as TLSSocket).getPeerCertificate?.()?.subjectaltname : undefined;
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, ...(r.tls ? { certificateNames: names } : {}) });
      });
    };
    const req = r.tls ? https.get({ ...options, servername: r.host, rejectUnauthorized: false }, done) : http.get(options, done);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * Sends an Upgrade request, then `message` on the upgraded connection; resolves with the status and
 * the first bytes that come back (an echo server answers with `message`).
 */
export function ingressUpgrade(r: IngressRequest, protocol: string, message: string): Promise<{ status: number; echoed: string }> {
  return new Promise((resolve, reject) => {
    const options = {
      host: r.address,
      port: r.port,
      path: r.path ?? '/',
      headers: { host: r.host, connection: 'Upgrade', upgrade: protocol },
      agent: false as const,
    };
    const req = r.tls ? https.request({ ...options, servername: r.host, rejectUnauthorized: false }) : http.request(options);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('upgrade', (res, socket: Duplex, head) => {
      let echoed = head.toString();
      const finish = () => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, echoed });
      };
      if (echoed.length >= message.length) return finish();
      socket.on('data', (d: Buffer) => {
        echoed += d.toString();
        if (echoed.length >= message.length) finish();
      });
      socket.on('error', reject);
      socket.write(message);
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, echoed: '' });
    });
    req.on('error', reject);
    req.end();
  });
}
