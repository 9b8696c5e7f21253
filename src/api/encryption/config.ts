// The EncryptionConfiguration file (apiserver.config.k8s.io/v1), read and checked as kube-apiserver's
// --encryption-provider-config is (JSON or YAML, upstream's validation messages), and written as K3s
// writes <data-dir>/server/cred/encryption-config.json. KMS providers are refused: Skiff has none.
import YAML from 'yaml';
import { KEY_SIZES, PROVIDER_TYPES, type ProviderType } from './providers.js';

export interface EncryptionKey {
  name: string;
  /** base64 of the key's bytes. */
  secret: string;
}

export type ProviderConfiguration =
  | { aescbc: { keys: EncryptionKey[] } }
  | { aesgcm: { keys: EncryptionKey[] } }
  | { secretbox: { keys: EncryptionKey[] } }
  | { identity: Record<string, never> };

export interface ResourceConfiguration {
  resources: string[];
  providers: ProviderConfiguration[];
}

export interface EncryptionConfiguration {
  kind: 'EncryptionConfiguration';
  apiVersion: 'apiserver.config.k8s.io/v1';
  resources: ResourceConfiguration[];
}

export const API_VERSION = 'apiserver.config.k8s.io/v1';
const KNOWN = ['aescbc', 'aesgcm', 'secretbox', 'identity', 'kms'] as const;

export class EncryptionConfigError extends Error {
  constructor(source: string, problems: string[]) {
    super(`invalid encryption config ${source}: ${problems.join('; ')}`);
    this.name = 'EncryptionConfigError';
  }
}

/** The one provider an entry names, and its keys (none for identity). */
export function providerOf(p: ProviderConfiguration): { type: ProviderType | 'identity'; keys: EncryptionKey[] } {
  if ('identity' in p) return { type: 'identity', keys: [] };
  const type = PROVIDER_TYPES.find((t) => t in p)!;
  return { type, keys: (p as Record<ProviderType, { keys: EncryptionKey[] }>)[type].keys };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkKeys(keys: unknown, path: string, sizes: readonly number[], problems: string[]): void {
  if (!Array.isArray(keys) || keys.length === 0) {
    problems.push(`${path}: Required value: at least one keys is required`);
    return;
  }
  const names = new Set<string>();
  for (const [i, key] of keys.entries()) {
    const at = `${path}[${i}]`;
    if (!isObject(key)) {
      problems.push(`${at}: must be an object with name and secret`);
      continue;
    }
    if (typeof key.name !== 'string' || !key.name) problems.push(`${at}.name: Required value: name is a mandatory field for a key`);
    else if (names.has(key.name)) problems.push(`${at}.name: Duplicate value: "${key.name}"`);
    else names.add(key.name);
    if (typeof key.secret !== 'string' || !key.secret) {
      problems.push(`${at}.secret: Required value: secret is a mandatory field for a key`);
      continue;
    }
    const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(key.secret) && key.secret.length % 4 === 0 ? Buffer.from(key.secret, 'base64') : undefined;
    if (!bytes) problems.push(`${at}.secret: Invalid value: "REDACTED": secrets must be base64 encoded`);
    else if (!sizes.includes(bytes.length))
      problems.push(
        `${at}.secret: Invalid value: "REDACTED": secret is not of the expected length, got ${bytes.length}, ` +
          `expected one of [${sizes.join(' ')}]`,
      );
  }
}

function checkResourceNames(resources: unknown, path: string, problems: string[]): void {
  if (!Array.isArray(resources) || resources.length === 0) {
    problems.push(`${path}: Required value: at least one ${path} is required`);
    return;
  }
  resources.forEach((r, j) => {
    const at = `${path}[${j}]`;
    if (typeof r !== 'string' || !r) problems.push(`${at}: must be a resource name such as "secrets" or "deployments.apps"`);
    else if (r !== r.toLowerCase()) problems.push(`${at}: Invalid value: "${r}": resource name should not contain capital letters`);
    else if (r === '*')
      problems.push(`${at}: Invalid value: "*": use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources`);
  });
  if (new Set(resources).size !== resources.length)
    problems.push(`${path}: Invalid value: the same resource cannot be specified multiple times`);
}

function providerProblems(p: unknown, at: string): string[] {
  const found = isObject(p) ? KNOWN.filter((k) => k in p) : [];
  if (found.length === 0)
    return [`${at}: provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity`];
  if (found.length > 1) return [`${at}: more than one provider specified in a single element, should split into different list elements`];
  const type = found[0]!;
  if (type === 'kms') return [`${at}.kms: KMS providers are not supported by skiff`];
  if (type === 'identity') return [];
  const problems: string[] = [];
  const body = (p as Record<string, unknown>)[type];
  checkKeys(isObject(body) ? body.keys : undefined, `${at}.${type}.keys`, KEY_SIZES[type], problems);
  return problems;
}

/** Checks a parsed document; answers it typed, or throws every problem at once. */
export function validateEncryptionConfig(doc: unknown, source: string): EncryptionConfiguration {
  const problems: string[] = [];
  if (!isObject(doc)) throw new EncryptionConfigError(source, ['it must be an EncryptionConfiguration object']);
  if (doc.kind !== 'EncryptionConfiguration') problems.push(`kind: must be EncryptionConfiguration, not ${JSON.stringify(doc.kind)}`);
  if (doc.apiVersion !== API_VERSION) problems.push(`apiVersion: must be ${API_VERSION}, not ${JSON.stringify(doc.apiVersion)}`);
  if (!Array.isArray(doc.resources) || doc.resources.length === 0) {
    problems.push('resources: Required value: at least one resources is required');
    throw new EncryptionConfigError(source, problems);
  }
  for (const [i, entry] of (doc.resources as unknown[]).entries()) {
    const at = `resources[${i}]`;
    if (!isObject(entry)) {
      problems.push(`${at}: must be an object with resources and providers`);
      continue;
    }
    checkResourceNames(entry.resources, `${at}.resources`, problems);
    if (!Array.isArray(entry.providers) || entry.providers.length === 0) {
      problems.push(`${at}.providers: Required value: at least one ${at}.providers is required`);
      continue;
    }
    for (const [j, p] of (entry.providers as unknown[]).entries()) problems.push(...providerProblems(p, `${at}.providers[${j}]`));
  }
  if (problems.length) throw new EncryptionConfigError(source, problems);
  return doc as unknown as EncryptionConfiguration;
}

/** Reads a config file's text (JSON, or YAML as upstream also accepts). */
export function parseEncryptionConfig(text: string, source: string): EncryptionConfiguration {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new EncryptionConfigError(source, [`not valid JSON or YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  return validateEncryptionConfig(doc, source);
}

/** How K3s names a generated key: `aescbckey` first, then `aescbckey-<RFC 3339 time>`. */
export function keyName(type: ProviderType, at?: Date): string {
  const base = `${type}key`;
  return at ? `${base}-${at.toISOString().replace(/\.\d{3}Z$/, 'Z')}` : base;
}

export function configWith(resources: string[], providers: ProviderConfiguration[]): EncryptionConfiguration {
  return { kind: 'EncryptionConfiguration', apiVersion: API_VERSION, resources: [{ resources, providers }] };
}
