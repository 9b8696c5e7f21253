// Join tokens in K3s's secure format, `K10<sha256 of the server CA>::server:<secret>`: the hash lets
// an agent check that it talks to the right server before it sends the secret.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Where a joining agent trades the token's secret for its node client certificate. */
export const NODE_CERTIFICATE_PATH = '/v1-skiff/node-certificate';

export interface JoinToken {
  caHash?: string;
  username: string;
  password: string;
}

export const caHash = (caPem: string) => createHash('sha256').update(caPem).digest('hex');

export function formatJoinToken(caPem: string, secret: string): string {
  return `K10${caHash(caPem)}::server:${secret}`;
}

/** Accepts the full secure form and a bare shared secret, as K3s does. */
export function parseJoinToken(text: string): JoinToken {
  const t = text.trim();
  const secure = t.match(/^K10([0-9a-f]{64})::([^:]+):(.+)$/);
  if (secure) return { caHash: secure[1], username: secure[2]!, password: secure[3]! };
  if (t.startsWith('K10')) throw new Error('the token looks like a K10 token but is malformed: expected K10<ca hash>::<user>:<secret>');
  if (!t) throw new Error('the token is empty');
  return { username: 'server', password: t };
}

export function caHashMatches(token: JoinToken, caPem: string): boolean {
  return token.caHash === undefined || token.caHash === caHash(caPem);
}

/** True when `offered` carries the server's secret (and, if it names one, the server's CA). */
export function tokenAccepted(offered: string, serverToken: string, caPem: string): boolean {
  let a: JoinToken;
  try {
    a = parseJoinToken(offered);
  } catch {
    return false;
  }
  const b = parseJoinToken(serverToken);
  const x = Buffer.from(a.password);
  const y = Buffer.from(b.password);
  return caHashMatches(a, caPem) && x.length === y.length && timingSafeEqual(x, y);
}

/** `<data-dir>/server/token`, created once; a --token given by the user becomes its secret. */
export function ensureJoinToken(dataDir: string, caPem: string, secret?: string): string {
  const file = path.join(dataDir, 'server', 'token');
  if (fs.existsSync(file) && !secret) return fs.readFileSync(file, 'utf8').trim();
  const token = formatJoinToken(caPem, secret ? parseJoinToken(secret).password : randomBytes(32).toString('hex'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
