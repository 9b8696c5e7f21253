// Join tokens in K3s's secure format, `K10<sha256 of the server CA>::<user>:<secret>` (the server's
// token `::server:`, --agent-token `::node:`) or `K10<hash>::<id>.<secret>` for bootstrap tokens
// (`skiff token create`): the hash lets an agent check that it talks to the right server before it
// sends the secret.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Where a joining agent trades the token's secret for its node client certificate. */
export const NODE_CERTIFICATE_PATH = '/v1-skiff/node-certificate';

export interface JoinToken {
  caHash?: string;
  /** `server`, `node`, or none (a bootstrap token, or a bare secret). */
  username?: string;
  password: string;
}

/** A bootstrap token, `<id>.<secret>`: 6 and 16 characters of [a-z0-9] (upstream's BootstrapTokenPattern). */
export const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
export const BOOTSTRAP_TOKEN_ID = /^[a-z0-9]{6}$/;

/** The id and secret of a bootstrap token, or undefined if the text is not one. */
export function parseBootstrapToken(text: string): { id: string; secret: string } | undefined {
  const m = BOOTSTRAP_TOKEN.exec(text);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** A new bootstrap token (upstream's GenerateBootstrapToken). */
export function generateBootstrapToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) => Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
  return `${pick(6)}.${pick(16)}`;
}

/** `K10<ca hash>::<id>.<secret>`, as `k3s token create` prints a bootstrap token. */
export function formatBootstrapJoinToken(caPem: string, token: string): string {
  return `K10${caHash(caPem)}::${token}`;
}

export const caHash = (caPem: string) => createHash('sha256').update(caPem).digest('hex');

export function formatJoinToken(caPem: string, secret: string): string {
  return `K10${caHash(caPem)}::server:${secret}`;
}

/** Accepts the full secure form and a bare shared secret, as K3s does. */
export function parseJoinToken(text: string): JoinToken {
  const t = text.trim();
  const secure = t.match(/^K10([0-9a-f]{64})::(?:([^:]+):)?(.+)$/);
  if (secure) return { caHash: secure[1], ...(secure[2] ? { username: secure[2] } : {}), password: secure[3]! };
  if (t.startsWith('K10'))
    throw new Error(
      'the token looks like a K10 token but is malformed: expected K10<ca hash>::<user>:<secret> or K10<ca hash>::<id>.<secret>',
    );
  if (!t) throw new Error('the token is empty');
  return { password: t };
}

export function caHashMatches(token: JoinToken, caPem: string): boolean {
  return token.caHash === undefined || token.caHash === caHash(caPem);
}

/** True when `offered` carries the secret of `serverToken` (and, if it names one, the server's CA). */
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

/** The secret of the server's token: --token's, else the one in <data-dir>/server/token, else a new one. */
export function tokenSecret(dataDir: string, given?: string): string {
  if (given) return parseJoinToken(given).password;
  const file = path.join(dataDir, 'server', 'token');
  if (fs.existsSync(file)) return parseJoinToken(fs.readFileSync(file, 'utf8')).password;
  return randomBytes(32).toString('hex');
}

/** `<data-dir>/server/token` in K10 form for this CA; a --token given by the user becomes its secret. */
export function ensureJoinToken(dataDir: string, caPem: string, secret?: string): string {
  const file = path.join(dataDir, 'server', 'token');
  const token = formatJoinToken(caPem, tokenSecret(dataDir, secret));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/**
 * `<data-dir>/server/agent-token`, as K3s's: --agent-token as `K10<hash>::node:<secret>`, or, without it,
 * the server's token (which agents may always use).
 */
export function ensureAgentToken(dataDir: string, caPem: string, serverToken: string, secret?: string): string {
  const file = path.join(dataDir, 'server', 'agent-token');
  const token = secret ? `K10${caHash(caPem)}::node:${parseJoinToken(secret).password}` : serverToken;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
