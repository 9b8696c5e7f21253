// Joining a server: fetch its CA from /cacerts and check it against the hash in the K10 token
// before trusting it (a bare secret trusts the first CA it sees, as K3s does), then trade the
// token's secret for this node's client certificate. The credentials are kept under
// <data-dir>/agent, so a restart reuses them without the token.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { certificateCommonName, daysLeft } from '../pki/certificates.js';
import { caHashMatches, NODE_CERTIFICATE_PATH, parseJoinToken } from '../pki/join-token.js';
import type { HttpsTarget } from '../client/transport.js';

/** A join failure worth retrying, in one line for the log. */
export class JoinError extends Error {}

function request(
  url: URL,
  opts: { method?: string; ca?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || 443,
        path: url.pathname,
        method: opts.method ?? 'GET',
        headers: opts.headers,
        timeout: 10_000,
        ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }),
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (err) => reject(new JoinError(`cannot reach ${url.origin}: ${err.message}`)));
    req.end(opts.body);
  });
}

export interface Joined {
  /** How to reach the API as this node. */
  target: HttpsTarget;
  /** The CA whose client certificates may call this node (the API server's). */
  clientCaPem: string;
}

export async function joinServer(server: string, tokenText: string, nodeName: string, dataDir: string): Promise<Joined> {
  const dir = path.join(dataDir, 'agent');
  const files = {
    cert: path.join(dir, 'client-node.crt'),
    key: path.join(dir, 'client-node.key'),
    ca: path.join(dir, 'server-ca.crt'),
    clientCa: path.join(dir, 'client-ca.crt'),
  };
  if (Object.values(files).every((f) => fs.existsSync(f))) {
    const certPem = fs.readFileSync(files.cert, 'utf8');
    if (certificateCommonName(certPem) === `system:node:${nodeName}` && daysLeft(certPem) > 1) {
      return {
        target: { server, caPem: fs.readFileSync(files.ca, 'utf8'), certPem, keyPem: fs.readFileSync(files.key, 'utf8') },
        clientCaPem: fs.readFileSync(files.clientCa, 'utf8'),
      };
    }
  }
  const token = parseJoinToken(tokenText);
  const base = new URL(server);
  const ca = await request(new URL('/cacerts', base), {});
  if (ca.status !== 200 || !ca.text.includes('BEGIN CERTIFICATE'))
    throw new JoinError(`${server} did not hand out its CA (HTTP ${ca.status}): is it a skiff server?`);
  if (!caHashMatches(token, ca.text))
    throw new JoinError(`the CA of ${server} does not match the hash in the token: refusing to send it the secret`);
  const auth = Buffer.from(`node:${token.password}`).toString('base64');
  const answer = await request(new URL(NODE_CERTIFICATE_PATH, base), {
    method: 'POST',
    ca: ca.text,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    body: JSON.stringify({ nodeName }),
  });
  if (answer.status === 401) throw new JoinError(`${server} refused the join token`);
  if (answer.status !== 200) {
    let message = answer.text.slice(0, 200);
    try {
      message = (JSON.parse(answer.text) as { message?: string }).message ?? message;
    } catch {
      // not a Status: keep the text
    }
    throw new JoinError(`${server} did not issue a node certificate (HTTP ${answer.status}): ${message}`);
  }
  const { certificate, key, clientCa } = JSON.parse(answer.text) as { certificate: string; key: string; clientCa: string };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(files.ca, ca.text, { mode: 0o644 });
  fs.writeFileSync(files.cert, certificate, { mode: 0o644 });
  fs.writeFileSync(files.key, key, { mode: 0o600 });
  fs.writeFileSync(files.clientCa, clientCa, { mode: 0o644 });
  return { target: { server, caPem: ca.text, certPem: certificate, keyPem: key }, clientCaPem: clientCa };
}
