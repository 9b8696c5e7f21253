// Secrets encryption as K3s runs it. `--secrets-encryption` makes the server write an
// EncryptionConfiguration to <data-dir>/server/cred/encryption-config.json (one generated key, then
// identity, mode 0600) and encrypt Secrets with it; `skiff secrets-encrypt` drives K3s's stages
// (start, prepare, rotate, reencrypt_request, reencrypt_active, reencrypt_finished), kept with the
// config's hash in encryption-state.json. Unlike K3s, a change takes effect in the running server at
// once (there is one server process and it holds the transformers), so no restart is needed between
// stages. Every re-encryption ends with a compaction and a defragmentation of the datastore, so that
// no value written with an old key, or as plaintext, is left in the database file or its WAL.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { log } from '../../log.js';
import type { Store } from '../../store/index.js';
import type { Registry } from '../registry/registry.js';
import { identityTransformer, type StorageTransformers, type ValueTransformer } from '../storage/transformer.js';
import {
  configWith,
  keyName,
  parseEncryptionConfig,
  providerOf,
  type EncryptionConfiguration,
  type EncryptionKey,
  type ProviderConfiguration,
} from './config.js';
import { generateSecret, KEY_TYPE_NAMES, type ProviderType } from './providers.js';
import { reencryptAll } from './reencrypt.js';
import { EncryptionTransformers } from './transformers.js';

export const STAGES = ['start', 'prepare', 'rotate', 'reencrypt_request', 'reencrypt_active', 'reencrypt_finished'] as const;
export type Stage = (typeof STAGES)[number];
/** K3s's request for rotate-keys (a stage name that is never stored). */
export const ROTATE_KEYS = 'rotate_keys';

/** What GET /v1-skiff/encrypt/status answers, with K3s's field names. */
export interface EncryptionState {
  stage: string;
  /** `AES-CBC aescbckey`: the key type as K3s names it, then the key's name. */
  activekey: string;
  /** Absent when there is no config file. */
  enable?: boolean;
  hashmatch?: boolean;
  hasherror?: string;
  inactivekeys?: string[];
}

/** What PUT /v1-skiff/encrypt/config takes: a stage to go to, or enable true/false (K3s's fields). */
export interface EncryptionRequest {
  stage?: string;
  enable?: boolean;
  force?: boolean;
  skip?: boolean;
}

/** A request that cannot be carried out now; the message says why (HTTP 400, as K3s answers). */
export class EncryptionRequestError extends Error {}

export interface SecretsEncryptionOptions {
  /** <data-dir>/server/cred */
  dir: string;
  /** --secrets-encryption: create the config when there is none. */
  enable: boolean;
  /** --secrets-encryption-provider: the type of generated keys. */
  provider: ProviderType;
  now?: () => Date;
}

interface Keyring {
  keys: { type: ProviderType; key: EncryptionKey }[];
  /** Identity first: encryption disabled, values still readable with the keys. */
  identityFirst: boolean;
  resources: string[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Writes a file whole or not at all, readable by its owner only. */
function writePrivate(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export class SecretsEncryption implements StorageTransformers {
  readonly configFile: string;
  readonly stateFile: string;
  /** The config was written at this start: values stored before it are plaintext until rewritten. */
  readonly created: boolean;
  private transformers: EncryptionTransformers | undefined;
  private loadedHash = '';
  private busy: string | undefined;
  private target: { store: Store; registry: Registry } | undefined;
  private readonly now: () => Date;
  /** Called after the config or its stage changed on disk (a server shares them with the others). */
  onChange: () => void = () => undefined;

  constructor(private readonly opts: SecretsEncryptionOptions) {
    this.now = opts.now ?? (() => new Date());
    this.configFile = path.join(opts.dir, 'encryption-config.json');
    this.stateFile = path.join(opts.dir, 'encryption-state.json');
    fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    let created = false;
    if (fs.existsSync(this.configFile)) this.load();
    else if (opts.enable) {
      const first: ProviderConfiguration = {
        [opts.provider]: { keys: [{ name: keyName(opts.provider), secret: generateSecret() }] },
      } as never;
      this.writeConfig(configWith(['secrets'], [first, { identity: {} }]));
      this.setStage('start');
      created = true;
    }
    this.created = created;
    if (this.transformers && !fs.existsSync(this.stateFile)) this.setStage('start');
  }

  /** Whether a config is loaded (values of the resources it names pass through its providers). */
  get configured(): boolean {
    return this.transformers !== undefined;
  }

  forResource(group: string, resource: string): ValueTransformer {
    return this.transformers?.forResource(group, resource) ?? identityTransformer;
  }

  /** The datastore and registry re-encryption walks; set once the API server has them. */
  attach(store: Store, registry: Registry): void {
    this.target = { store, registry };
  }

  private load(): void {
    const text = fs.readFileSync(this.configFile, 'utf8');
    this.transformers = new EncryptionTransformers(parseEncryptionConfig(text, this.configFile));
    this.loadedHash = sha256(text);
  }

  private writeConfig(config: EncryptionConfiguration): void {
    const text = JSON.stringify(config);
    const transformers = new EncryptionTransformers(config);
    writePrivate(this.configFile, text);
    this.transformers = transformers;
    this.loadedHash = sha256(text);
    this.onChange();
  }

  private stageAndHash(): { stage: string; hash: string } {
    try {
      const [stage = 'start', hash = ''] = fs.readFileSync(this.stateFile, 'utf8').trim().split('-');
      return { stage, hash };
    } catch {
      return { stage: 'start', hash: '' };
    }
  }

  /** K3s's state: `<stage>-<sha256 of the config file>`. */
  private setStage(stage: Stage): void {
    writePrivate(this.stateFile, `${stage}-${this.loadedHash}`);
    this.onChange();
  }

  status(): EncryptionState {
    if (!this.transformers) return { stage: this.stageAndHash().stage, activekey: '' };
    const state: EncryptionState = { stage: this.stageAndHash().stage, activekey: '', inactivekeys: [] };
    const entry = this.secretsEntry();
    state.enable = !('identity' in entry.providers[0]!);
    let active = true;
    for (const p of entry.providers) {
      const { type, keys } = providerOf(p);
      if (type === 'identity') {
        active = false;
        continue;
      }
      for (const key of keys) {
        const named = `${KEY_TYPE_NAMES[type]} ${key.name}`;
        if (active) state.activekey = named;
        else state.inactivekeys!.push(named);
        active = false;
      }
    }
    let onDisk = '';
    try {
      onDisk = sha256(fs.readFileSync(this.configFile, 'utf8'));
    } catch {
      // reported below as a mismatch
    }
    state.hashmatch = onDisk === this.loadedHash;
    if (!state.hashmatch)
      state.hasherror = `hash does not match between the running server and ${this.configFile}: it was changed by hand; restart the server`;
    return state;
  }

  private secretsEntry(): EncryptionConfiguration['resources'][number] {
    const config = this.transformers!.config;
    return config.resources.find((r) => r.resources.includes('secrets')) ?? config.resources[0]!;
  }

  /** The config as keys in order, if it is one skiff manages (one entry; identity first, last or absent). */
  private keyring(): Keyring {
    const config = this.transformers!.config;
    const unmanaged = (why: string) =>
      new EncryptionRequestError(`${this.configFile} is not a config skiff manages (${why}): edit it by hand and restart the server`);
    if (config.resources.length !== 1) throw unmanaged('it has more than one resources entry');
    const providers = config.resources[0]!.providers;
    const identityAt = providers.findIndex((p) => 'identity' in p);
    if (identityAt > 0 && identityAt < providers.length - 1) throw unmanaged('identity is neither first nor last');
    const keys = providers.flatMap((p) => {
      const { type, keys } = providerOf(p);
      return type === 'identity' ? [] : keys.map((key) => ({ type, key }));
    });
    return { keys, identityFirst: identityAt === 0, resources: config.resources[0]!.resources };
  }

  private writeKeyring(ring: Keyring): void {
    const providers: ProviderConfiguration[] = [];
    for (const { type, key } of ring.keys) {
      const last = providers[providers.length - 1];
      if (last && type in last) (last as Record<ProviderType, { keys: EncryptionKey[] }>)[type].keys.push(key);
      else providers.push({ [type]: { keys: [key] } } as never);
    }
    if (ring.identityFirst) providers.unshift({ identity: {} });
    else providers.push({ identity: {} });
    this.writeConfig(configWith(ring.resources, providers));
  }

  private newKey(): { type: ProviderType; key: EncryptionKey } {
    const type = this.opts.provider;
    return { type, key: { name: keyName(type, this.now()), secret: generateSecret() } };
  }

  private requireStage(allowed: Stage[], force = false): void {
    const { stage } = this.stageAndHash();
    if (!force && !allowed.includes(stage as Stage)) throw new EncryptionRequestError(`incorrect stage: ${stage} found on this server`);
  }

  /** Carries out a request; answers the line the CLI prints (K3s's words). */
  async request(req: EncryptionRequest): Promise<string> {
    if (this.busy) throw new EncryptionRequestError(`secrets-encrypt ${this.busy} is still running`);
    const what = req.stage ?? (req.enable === undefined ? '' : req.enable ? 'enable' : 'disable');
    if (!what) throw new EncryptionRequestError('the request names neither a stage nor enable');
    if (req.stage !== undefined && ![...STAGES, ROTATE_KEYS].includes(req.stage))
      throw new EncryptionRequestError(`unknown stage ${req.stage} requested`);
    if (!this.transformers && req.enable !== true)
      throw new EncryptionRequestError(`secrets encryption is not configured (no ${this.configFile}): enable it first`);
    this.busy = what;
    let background = false;
    try {
      switch (req.stage) {
        case 'prepare':
          this.requireStage(['start', 'reencrypt_finished'], req.force);
          this.writeKeyring(this.withKeys((ring) => ring.keys.push(this.newKey())));
          this.setStage('prepare');
          return 'prepare completed successfully';
        case 'rotate':
          this.requireStage(['prepare'], req.force);
          this.writeKeyring(this.withKeys((ring) => ring.keys.unshift(ring.keys.pop()!)));
          this.setStage('rotate');
          return 'rotate completed successfully';
        case 'reencrypt_active':
        case 'reencrypt_request':
          this.requireStage(['rotate'], req.force);
          this.setStage('reencrypt_active');
          background = true;
          void this.reencrypt(!req.skip)
            .catch((err: Error) => log.error({ err: err.message }, 'secrets-encrypt: reencryption failed'))
            .finally(() => (this.busy = undefined));
          return 'reencryption started';
        case ROTATE_KEYS:
          this.requireStage(['start', 'reencrypt_finished']);
          if (this.keyring().identityFirst) throw new EncryptionRequestError('secrets encryption is disabled: enable it first');
          this.writeKeyring(this.withKeys((ring) => ring.keys.unshift(this.newKey())));
          this.setStage('reencrypt_active');
          await this.reencrypt(true);
          return 'keys rotated, reencryption finished';
        case undefined:
          return await this.enable(req.enable!);
        default:
          throw new EncryptionRequestError(`stage ${req.stage} cannot be requested`);
      }
    } finally {
      if (!background) this.busy = undefined;
    }
  }

  private withKeys(change: (ring: Keyring) => void): Keyring {
    const ring = this.keyring();
    change(ring);
    return ring;
  }

  private async enable(on: boolean): Promise<string> {
    if (!this.transformers) {
      const type = this.opts.provider;
      this.writeKeyring({
        keys: [{ type, key: { name: keyName(type), secret: generateSecret() } }],
        identityFirst: false,
        resources: ['secrets'],
      });
      this.setStage('start');
    } else {
      const ring = this.keyring();
      if (ring.identityFirst === !on) return on ? 'secrets-encryption already enabled' : 'secrets-encryption already disabled';
      if (on && ring.keys.length === 0) throw new EncryptionRequestError('cannot enable secrets encryption: the config has no keys');
      this.writeKeyring({ ...ring, identityFirst: !on });
    }
    await this.reencrypt(false);
    return on ? 'secrets-encryption enabled' : 'secrets-encryption disabled';
  }

  /**
   * Rewrites every covered value with the first provider; with `dropOld`, then removes every key but
   * that one. Compacts and defragments the datastore, so nothing written the old way stays on disk.
   */
  async reencrypt(dropOld: boolean): Promise<number> {
    if (!this.target || !this.transformers) throw new EncryptionRequestError('the API server is not running yet');
    const { store, registry } = this.target;
    const transformers = this.transformers;
    const count = await reencryptAll(store, registry, this, (g, r) => transformers.covers(g, r));
    if (dropOld) {
      const ring = this.keyring();
      if (!ring.identityFirst && ring.keys.length > 1) {
        log.info({ removed: ring.keys.slice(1).map((k) => k.key.name) }, 'secrets-encrypt: removing keys no value uses any more');
        this.writeKeyring({ ...ring, keys: ring.keys.slice(0, 1) });
      }
    }
    await store.compact();
    await store.defragment();
    const { stage } = this.stageAndHash();
    this.setStage(stage === 'reencrypt_active' ? 'reencrypt_finished' : (stage as Stage));
    log.info({ count, writer: this.status().activekey || 'identity' }, 'secrets-encrypt: reencrypted');
    return count;
  }
}
