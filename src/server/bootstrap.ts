// The cluster's bootstrap data, as K3s keeps it: what every server of one cluster must hold alike
// (the CAs with their keys, the service-account signing key, the secrets-encryption config), sealed
// with the token's secret. In a shared datastore it is kept under /bootstrap/<hash of the secret>,
// so a second server started with the same --token takes the first one's CAs instead of making its
// own; a server joining an embedded etcd cluster fetches it from the server it joins (join routes).
// Each server still issues its own serving and client certificates from the shared CAs.
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../k8s/config-error.js';
import { log } from '../log.js';
import { KeyExistsError, type Store } from '../store/index.js';

/** The shared files, relative to <data-dir>/server. */
const SHARED = [
  'tls/server-ca.crt',
  'tls/server-ca.key',
  'tls/client-ca.crt',
  'tls/client-ca.key',
  'tls/service.key',
  'cred/encryption-config.json',
  'cred/encryption-state.json',
];

/** This server's own certificates, issued from the CAs: made again when the CAs are replaced. */
const ISSUED = ['serving-kube-apiserver', 'client-admin', 'client-kube-apiserver'].flatMap((n) => [`tls/${n}.crt`, `tls/${n}.key`]);

const PREFIX = '/bootstrap/';

export type BootstrapFiles = Record<string, string>;

/** The datastore key of the cluster whose token has this secret. */
export function bootstrapKey(secret: string): string {
  return `${PREFIX}${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}

const keyFor = (secret: string, salt: Buffer) => scryptSync(secret, salt, 32);

/** The shared files of this data dir, sealed with AES-256-GCM under a key derived from the secret. */
export function sealBootstrap(dataDir: string, secret: string): Buffer {
  const files: BootstrapFiles = {};
  for (const name of SHARED) {
    const file = path.join(dataDir, 'server', name);
    if (fs.existsSync(file)) files[name] = fs.readFileSync(file, 'utf8');
  }
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(secret, salt), iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(files)), cipher.final()]);
  return Buffer.from(
    JSON.stringify({
      salt: salt.toString('base64'),
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    }),
  );
}

/** The files sealed in `blob`; a ConfigError when the secret is not the one they were sealed with. */
export function openBootstrap(blob: Buffer, secret: string): BootstrapFiles {
  const sealed = JSON.parse(blob.toString('utf8')) as Record<'salt' | 'iv' | 'tag' | 'data', string>;
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', keyFor(secret, b64(sealed.salt)), b64(sealed.iv));
  decipher.setAuthTag(b64(sealed.tag));
  try {
    return JSON.parse(Buffer.concat([decipher.update(b64(sealed.data)), decipher.final()]).toString('utf8')) as BootstrapFiles;
  } catch {
    throw new ConfigError("the cluster's bootstrap data cannot be opened with this --token: give the token of the cluster's first server");
  }
}

/**
 * Puts the cluster's files in this data dir. When a CA differs from the one here, this server's own
 * certificates from the old CA are removed, to be issued again from the cluster's.
 */
export function writeBootstrap(dataDir: string, files: BootstrapFiles): void {
  let replaced = false;
  for (const [name, text] of Object.entries(files)) {
    if (!SHARED.includes(name)) continue;
    const file = path.join(dataDir, 'server', name);
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) continue;
    replaced ||= fs.existsSync(file);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, text, { mode: name.endsWith('.crt') ? 0o644 : 0o600 });
  }
  if (!replaced) return;
  log.warn("this server's CAs differed from the cluster's: taking the cluster's and issuing this server's certificates again");
  for (const name of ISSUED) fs.rmSync(path.join(dataDir, 'server', name), { force: true });
}

/**
 * Before the PKI is made: takes the cluster's bootstrap data from a shared datastore if it holds
 * some for this token. Refuses a token whose cluster is not the one in the datastore.
 */
export async function takeBootstrap(store: Store, dataDir: string, secret: string): Promise<boolean> {
  const found = await store.get(bootstrapKey(secret));
  if (found) {
    writeBootstrap(dataDir, openBootstrap(found.value, secret));
    return true;
  }
  if ((await store.count(PREFIX)) > 0)
    throw new ConfigError(
      "the datastore already holds another token's cluster: start this server with the first server's --token " +
        '(its <data-dir>/server/token)',
    );
  return false;
}

/** Replaces the datastore's bootstrap data with this data dir's (after a secrets-encrypt change). */
export async function putBootstrap(store: Store, dataDir: string, secret: string): Promise<void> {
  const key = bootstrapKey(secret);
  const sealed = sealBootstrap(dataDir, secret);
  if (await store.get(key)) await store.update(key, sealed);
  else await store.create(key, sealed);
}

/**
 * After the PKI is made by the first server: saves its bootstrap data. Answers false when another
 * server saved first (both started at once): then its data has been taken and the PKI must be made
 * again from it.
 */
export async function saveBootstrap(store: Store, dataDir: string, secret: string): Promise<boolean> {
  try {
    await store.create(bootstrapKey(secret), sealBootstrap(dataDir, secret));
    return true;
  } catch (err) {
    if (!(err instanceof KeyExistsError)) throw err;
    await takeBootstrap(store, dataDir, secret);
    return false;
  }
}
