// The server's side of encryption at rest: its config under <data-dir>/server/cred (K3s's place),
// made by --secrets-encryption when absent and used whenever present, so that Secrets written
// encrypted stay readable when the flag is dropped (`skiff secrets-encrypt disable` turns encryption
// off, as in K3s). Secrets stored before the config existed are rewritten at once.
import path from 'node:path';
import type { ProviderType } from '../api/encryption/providers.js';
import { SecretsEncryption } from '../api/encryption/secrets-encrypt.js';
import type { Store } from '../store/index.js';
import { log } from '../log.js';

/** A bad config file throws an EncryptionConfigError whose one line says what is wrong. */
export function openSecretsEncryption(opts: { dataDir: string; enable: boolean; provider: ProviderType }): SecretsEncryption {
  const { enable } = opts;
  const encryption = new SecretsEncryption({ dir: path.join(opts.dataDir, 'server', 'cred'), enable, provider: opts.provider });
  // Without a config it encrypts nothing, but its endpoints still answer (status; enable makes one).
  if (!encryption.configured) return encryption;
  const { enable: on, activekey } = encryption.status();
  if (!enable && on)
    log.warn(
      { config: encryption.configFile },
      'secrets encryption stays on without --secrets-encryption: the config exists; `skiff secrets-encrypt disable` turns it off',
    );
  log.info({ config: encryption.configFile, enabled: on, key: activekey || 'identity' }, 'secrets encryption');
  return encryption;
}

/** Secrets written before the config was made are plaintext: rewrite them and compact them away. */
export async function encryptExistingSecrets(encryption: SecretsEncryption | undefined, store: Store): Promise<void> {
  if (!encryption?.created || (await store.count('/registry/secrets/')) === 0) return;
  const count = await encryption.reencrypt(false);
  log.info({ count }, 'secrets encryption enabled: Secrets stored before were encrypted, their plaintext compacted away');
}
