// K3s's node password: a node name belongs to the machine that first joined with it. The agent
// keeps a random password under its data dir and sends it when it joins; the server keeps its
// scrypt hash in the Secret kube-system/<node>.node-password.skiff and refuses any other password
// for that name. Deleting the Node frees the name (the Secret goes with it, as K3s's node controller
// removes it).
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ApiError, isAlreadyExists, isNotFound } from '../k8s/errors.js';
import type { KObject, StoredObject } from '../k8s/object.js';
import type { AdmissionPlugin } from '../api/admission/plugin.js';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { log } from '../log.js';

export const NODE_PASSWORD_NAMESPACE = 'kube-system';
export const NODE_PASSWORD_TYPE = 'skiff.io/node-password';

/** `kube-system/<node>.node-password.skiff`, K3s's name with ours. */
export const nodePasswordSecretName = (node: string) => `${node}.node-password.skiff`.toLowerCase();

// K3s's scrypt parameters and format: $1:<salt>:<log2 N>:<r>:<p>:<key>, hex.
const LOG_N = 15;
const R = 8;
const P = 1;
const KEY_LEN = 64;

const scrypt = (password: string, salt: Buffer, n: number, r: number, p: number) =>
  new Promise<Buffer>((resolve, reject) => {
    const opts: ScryptOptions = { N: n, r, p, maxmem: 256 * n * r };
    scryptCb(password, salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });

export async function hashNodePassword(password: string): Promise<string> {
  const salt = randomBytes(8);
  const key = await scrypt(password, salt, 2 ** LOG_N, R, P);
  return `$1:${salt.toString('hex')}:${LOG_N}:${R}:${P}:${key.toString('hex')}`;
}

export async function verifyNodePassword(hash: string, password: string): Promise<boolean> {
  const m = /^\$1:([0-9a-f]+):(\d+):(\d+):(\d+):([0-9a-f]+)$/.exec(hash);
  if (!m) return false;
  const [logN, r, p] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (logN > 20 || r > 32 || p > 16) return false;
  const want = Buffer.from(m[5]!, 'hex');
  const got = await scrypt(password, Buffer.from(m[1]!, 'hex'), 2 ** logN, r, p);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The refusal an agent sees for a name another machine holds (K3s's words, with our file and Secret). */
export function passwordRejected(node: string): ApiError {
  return new ApiError(
    403,
    'Forbidden',
    `Node password rejected, duplicate hostname or contents of the node password file may not match server node-passwd entry ` +
      `(kube-system/${nodePasswordSecretName(node)}): another machine holds the name "${node}"; ` +
      'join with another --node-name, or delete that Node to free its name',
  );
}

/** Checks a node's password against the one recorded for its name, recording it if there is none. */
export async function ensureNodePassword(objects: ObjectStore, registry: Registry, node: string, password: string): Promise<void> {
  const secrets = registry.byResource('', 'v1', 'secrets')!;
  const name = nodePasswordSecretName(node);
  const check = async (secret: StoredObject) => {
    const hash = Buffer.from((secret.data as Record<string, string> | undefined)?.hash ?? '', 'base64').toString('utf8');
    if (!(await verifyNodePassword(hash, password))) throw passwordRejected(node);
  };
  const existing = await objects.tryGet(secrets, NODE_PASSWORD_NAMESPACE, name);
  if (existing) return check(existing);
  const secret: KObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: NODE_PASSWORD_NAMESPACE },
    type: NODE_PASSWORD_TYPE,
    immutable: true,
    data: { hash: Buffer.from(await hashNodePassword(password)).toString('base64') },
  };
  try {
    await objects.create(secrets, NODE_PASSWORD_NAMESPACE, secret);
  } catch (err) {
    // Two machines racing for one name: the first one's record decides.
    if (!isAlreadyExists(err)) throw err;
    await check(await objects.get(secrets, NODE_PASSWORD_NAMESPACE, name));
  }
}

/** Frees a node's name when its Node is gone from the datastore. */
export function nodePasswordRelease(objects: () => ObjectStore, registry: Registry): AdmissionPlugin {
  return {
    group: '',
    resource: 'nodes',
    async released(_def, node) {
      const secrets = registry.byResource('', 'v1', 'secrets')!;
      const name = nodePasswordSecretName(node.metadata.name);
      try {
        const secret = await objects().tryGet(secrets, NODE_PASSWORD_NAMESPACE, name);
        if (secret) await objects().remove(secrets, secret);
      } catch (err) {
        if (!isNotFound(err)) log.warn({ err: (err as Error).message, node: node.metadata.name }, 'could not remove the node password');
      }
    },
  };
}
