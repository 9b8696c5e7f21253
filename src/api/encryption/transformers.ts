// An EncryptionConfiguration turned into value transformers, with kube-apiserver's rules: each key is
// a transformer under the prefix `k8s:enc:<provider>:v1:<key name>:`, identity has none; writes use
// the first provider's first key; reads use the first transformer whose prefix matches and that opens
// the value (identity refuses encrypted bytes, so an identity-first config still reads them). A
// resource takes the first entry that names it: exactly, then `*.<group>`, then `*.*`.
import { type EncryptionConfiguration, providerOf } from './config.js';
import { cipherFor, type Cipher } from './providers.js';
import {
  ENCRYPTED_PREFIX,
  envelopeOf,
  identityTransformer,
  TransformError,
  type StorageTransformers,
  type ValueTransformer,
} from '../storage/transformer.js';

interface PrefixTransformer {
  prefix: Buffer;
  /** `aescbc key "name"`, or `identity`. */
  describe: string;
  cipher?: Cipher;
}

/** The transformer of one resource entry of the config. */
export class ProviderChain implements ValueTransformer {
  private readonly chain: PrefixTransformer[] = [];

  constructor(providers: EncryptionConfiguration['resources'][number]['providers']) {
    for (const p of providers) {
      const { type, keys } = providerOf(p);
      if (type === 'identity') {
        this.chain.push({ prefix: Buffer.alloc(0), describe: 'identity' });
        continue;
      }
      for (const key of keys)
        this.chain.push({
          prefix: Buffer.from(`k8s:enc:${type}:v1:${key.name}:`),
          describe: `${type} key "${key.name}"`,
          cipher: cipherFor(type, Buffer.from(key.secret, 'base64')),
        });
    }
  }

  /** What new writes use: `aescbc key "aescbckey"`, or `identity`. */
  get writer(): string {
    return this.chain[0]!.describe;
  }

  toStorage(value: Buffer, key: string): Buffer {
    const first = this.chain[0]!;
    if (!first.cipher) return value;
    return Buffer.concat([first.prefix, first.cipher.seal(value, Buffer.from(key))]);
  }

  fromStorage(stored: Buffer, key: string): Buffer {
    const failures: string[] = [];
    for (const t of this.chain) {
      if (!t.cipher) {
        // identity: plaintext is read as it is; encrypted bytes go on to the next transformer.
        if (!stored.subarray(0, ENCRYPTED_PREFIX.length).equals(ENCRYPTED_PREFIX)) return stored;
        continue;
      }
      if (!stored.subarray(0, t.prefix.length).equals(t.prefix)) continue;
      try {
        return t.cipher.open(stored.subarray(t.prefix.length), Buffer.from(key));
      } catch (err) {
        failures.push(
          `decrypting with ${t.describe} failed (${(err as Error).message}): the key's secret is not the one the value was written with`,
        );
      }
    }
    if (failures.length) throw new TransformError(key, failures.join('; '));
    const env = envelopeOf(stored);
    const configured = this.chain.map((t) => t.describe).join(', ');
    if (env)
      throw new TransformError(
        key,
        `the value was written with ${env.provider} key "${env.keyName}", which the encryption config does not have ` +
          `(it has: ${configured})`,
      );
    throw new TransformError(key, `the value is not encrypted and the encryption config has no identity provider (it has: ${configured})`);
  }
}

/** `secrets` → core secrets, `deployments.apps`, `*.` (all of core), `*.apps`, `*.*`. */
function parseResource(name: string): { group: string; resource: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { group: '', resource: name } : { group: name.slice(dot + 1), resource: name.slice(0, dot) };
}

export class EncryptionTransformers implements StorageTransformers {
  private readonly exact = new Map<string, ProviderChain>();
  private readonly chosen = new Map<string, ValueTransformer>();

  constructor(readonly config: EncryptionConfiguration) {
    for (const entry of config.resources) {
      const chain = new ProviderChain(entry.providers);
      for (const name of entry.resources) {
        const { group, resource } = parseResource(name);
        const id = `${group}/${resource}`;
        if (!this.exact.has(id)) this.exact.set(id, chain);
      }
    }
  }

  forResource(group: string, resource: string): ValueTransformer {
    const id = `${group}/${resource}`;
    let t = this.chosen.get(id);
    if (!t) {
      t = this.exact.get(id) ?? this.exact.get(`${group}/*`) ?? this.exact.get('*/*') ?? identityTransformer;
      this.chosen.set(id, t);
    }
    return t;
  }

  /** Whether the config names this resource (its values go through a provider chain). */
  covers(group: string, resource: string): boolean {
    return this.forResource(group, resource) !== identityTransformer;
  }
}
