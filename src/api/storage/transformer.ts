// What happens to an object's bytes between the codec and the datastore: nothing by default, or
// encryption at rest for the resources an EncryptionConfiguration names (src/api/encryption). As in
// kube-apiserver, only the stored bytes change; every reader above this sees plaintext objects.

export interface ValueTransformer {
  /** The bytes to store for `value` under datastore key `key` (AES-GCM authenticates the key). */
  toStorage(value: Buffer, key: string): Buffer;
  /** The plaintext of stored bytes; throws a TransformError when they cannot be read. */
  fromStorage(stored: Buffer, key: string): Buffer;
}

/** Picks the transformer of a resource (group '' is the core group). */
export interface StorageTransformers {
  forResource(group: string, resource: string): ValueTransformer;
}

/** Stored bytes that could not be turned back into plaintext (wrong key, no key, damaged). */
export class TransformError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`unable to transform key "${key}": ${reason}`);
    this.name = 'TransformError';
  }
}

/** Upstream reserves this prefix for encrypted values. */
export const ENCRYPTED_PREFIX = Buffer.from('k8s:enc:');

/** `k8s:enc:<provider>:v1:<key name>:` → provider and key name, for error messages. */
export function envelopeOf(stored: Buffer): { provider: string; keyName: string } | undefined {
  if (!stored.subarray(0, ENCRYPTED_PREFIX.length).equals(ENCRYPTED_PREFIX)) return undefined;
  const head = stored.subarray(0, 300).toString('latin1');
  // Key names may hold colons: K3s names rotated keys aescbckey-<RFC 3339 time>.
  const m = /^k8s:enc:([a-z0-9]+):v1:([^:]*?(?:-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)?):/.exec(head);
  return m ? { provider: m[1]!, keyName: m[2]! } : { provider: head.split(':')[2] ?? 'unknown', keyName: '' };
}

/**
 * Plaintext as it is; reading encrypted bytes is an error (upstream's identity transformer), so a
 * server started without the encryption config says why it cannot read a Secret.
 */
export const identityTransformer: ValueTransformer = {
  toStorage: (value) => value,
  fromStorage(stored, key) {
    // Stored objects are JSON: the first byte tells plaintext apart cheaply.
    if (stored[0] === 0x7b) return stored;
    const env = envelopeOf(stored);
    if (env) {
      throw new TransformError(
        key,
        `the value is encrypted (${env.provider} key "${env.keyName}") but no encryption config that can read it is loaded`,
      );
    }
    return stored;
  },
};

export const IDENTITY: StorageTransformers = { forResource: () => identityTransformer };
