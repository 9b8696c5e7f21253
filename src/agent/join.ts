// Joining a server: fetch its CA from /cacerts and check it against the hash in the K10 token
// before trusting it (a bare secret trusts the first CA it sees, as K3s does), then send the token's
// secret, this node's name and password (K3s's node password, kept in <data-dir>/agent/node-password)
// and a certificate request for system:node:<name>, whose key never leaves the node. The server turns
// it into a CertificateSigningRequest and answers with the certificate once it is approved and signed.
// The credentials are kept under <data-dir>/agent, so a restart reuses them without the token while
// the certificate is valid; certificate-rotation.ts renews it before it expires.
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { certificateCommonName } from '../pki/certificates.js';
import { createCertificateRequest, validity } from '../pki/csr.js';
import { caHashMatches, type JoinToken, NODE_CERTIFICATE_PATH, parseJoinToken } from '../pki/join-token.js';
import { nodeUser } from '../k8s/nodes.js';
import type { HttpsTarget } from '../client/transport.js';
import { log } from '../log.js';
import { sleep } from '../client/sleep.js';

/** A join failure worth retrying, in one line for the log. */
export class JoinError extends Error {}

/** One HTTPS call of a join, trusting `ca` (or, before the CA is known, any certificate). */
export function joinRequest(
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
        timeout: 60_000,
        ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }),
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 60 s')));
    req.on('error', (err) => reject(new JoinError(`cannot reach ${url.origin}: ${err.message}`)));
    req.end(opts.body);
  });
}

export interface Joined {
  /** How to reach the API as this node; certificate-rotation.ts swaps in renewed credentials. */
  target: HttpsTarget;
  /** The CA whose client certificates may call this node (the API server's). */
  clientCaPem: string;
}

/** Where a node keeps what it joined with. */
export function agentFiles(dataDir: string) {
  const dir = path.join(dataDir, 'agent');
  return {
    dir,
    cert: path.join(dir, 'client-node.crt'),
    key: path.join(dir, 'client-node.key'),
    ca: path.join(dir, 'server-ca.crt'),
    clientCa: path.join(dir, 'client-ca.crt'),
    password: path.join(dir, 'node-password'),
  };
}

/** This machine's node password: made once, kept (mode 0600) for every later join. */
export function nodePassword(dataDir: string): string {
  const file = agentFiles(dataDir).password;
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const password = randomBytes(16).toString('hex');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * Writes a file whole or not at all, on the disk before it takes the old one's place (a crash never
 * leaves half a key). The flush runs in libuv's pool: the event loop goes on meanwhile.
 */
export async function writeAtomic(file: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const handle = await fs.promises.open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
}

const messageOf = (text: string) => {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text.slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
};

/** Valid credentials from an earlier join, if any. */
function stored(server: string, nodeName: string, dataDir: string): Joined | undefined {
  const files = agentFiles(dataDir);
  if (![files.cert, files.key, files.ca, files.clientCa].every((f) => fs.existsSync(f))) return undefined;
  const certPem = fs.readFileSync(files.cert, 'utf8');
  const keyPem = fs.readFileSync(files.key, 'utf8');
  if (certificateCommonName(certPem) !== nodeUser(nodeName).username || validity(certPem).notAfter < Date.now() + 10_000) return undefined;
  if (!new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))) return undefined;
  return {
    target: { server, caPem: fs.readFileSync(files.ca, 'utf8'), certPem, keyPem },
    clientCaPem: fs.readFileSync(files.clientCa, 'utf8'),
  };
}

/** The server's CA from /cacerts, once checked against the hash in the token. */
export async function trustedCa(server: string, token: JoinToken): Promise<string> {
  const ca = await joinRequest(new URL('/cacerts', server), {});
  if (ca.status !== 200 || !ca.text.includes('BEGIN CERTIFICATE'))
    throw new JoinError(`${server} did not hand out its CA (HTTP ${ca.status}): is it a skiff server?`);
  if (!caHashMatches(token, ca.text))
    throw new JoinError(`the CA of ${server} does not match the hash in the token: refusing to send it the secret`);
  return ca.text;
}

export async function joinServer(
  server: string,
  tokenText: string,
  nodeName: string,
  dataDir: string,
  signal?: AbortSignal,
): Promise<Joined> {
  const reused = stored(server, nodeName, dataDir);
  if (reused) return reused;
  const files = agentFiles(dataDir);
  const token = parseJoinToken(tokenText);
  const base = new URL(server);
  const caPem = await trustedCa(server, token);
  const password = nodePassword(dataDir);
  const user = nodeUser(nodeName);
  const { requestPem, keyPem } = await createCertificateRequest(user.username, user.groups);
  const auth = Buffer.from(`${token.username === 'server' ? 'server' : 'node'}:${token.password}`).toString('base64');
  for (;;) {
    const answer = await joinRequest(new URL(NODE_CERTIFICATE_PATH, base), {
      method: 'POST',
      ca: caPem,
      headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
      body: JSON.stringify({ nodeName, nodePassword: password, certificateRequest: requestPem }),
    });
    if (answer.status === 401) throw new JoinError(`${server} refused the join token`);
    if (answer.status === 403)
      throw new JoinError(`${server} refused node "${nodeName}": ${messageOf(answer.text)} (this node's password is in ${files.password})`);
    if (answer.status === 202) {
      // Approval may take an administrator: keep the same request and ask again.
      log.info({ server, node: nodeName }, messageOf(answer.text));
      await sleep(5000, signal);
      if (signal?.aborted) throw new JoinError('stopped while waiting for the node certificate');
      continue;
    }
    if (answer.status !== 200)
      throw new JoinError(`${server} did not issue a node certificate (HTTP ${answer.status}): ${messageOf(answer.text)}`);
    const { certificate, clientCa } = JSON.parse(answer.text) as { certificate: string; clientCa: string };
    fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(files.ca, caPem, 0o644);
    await writeAtomic(files.key, keyPem, 0o600);
    await writeAtomic(files.cert, certificate, 0o644);
    await writeAtomic(files.clientCa, clientCa, 0o644);
    return { target: { server, caPem: caPem, certPem: certificate, keyPem }, clientCaPem: clientCa };
  }
}
