// The certificates the HTTPS listener answers with: for each TLS entry of the route table, its
// kubernetes.io/tls Secret (read by name: a node may get a Secret an Ingress of Skiff's names for
// TLS, and list none); for a server name no entry covers, or a Secret that cannot be read or parsed,
// a self-signed certificate made at start, as ingress controllers' "fake certificate".
import tls, { type SecureContext } from 'node:tls';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { createCA, issueCertificate } from '../../../pki/certificates.js';
import { log } from '../../../log.js';
import type { TlsEntry } from './routes.js';

export type SecretReader = (namespace: string, name: string) => Promise<Secret>;

const keyOf = (e: Pick<TlsEntry, 'namespace' | 'secretName'>) => `${e.namespace}/${e.secretName}`;

export async function defaultContext(): Promise<SecureContext> {
  const ca = await createCA('skiff-ingress-default-ca', 10);
  const leaf = await issueCertificate(ca, { commonName: 'skiff ingress default certificate', usage: 'server', days: 3650 });
  return tls.createSecureContext({ cert: leaf.certPem, key: leaf.keyPem });
}

export class CertificateStore {
  private contexts = new Map<string, SecureContext>();
  /** Each Secret's resourceVersion as last read, so that an unchanged one is not parsed again. */
  private versions = new Map<string, string>();

  constructor(
    private readonly read: SecretReader,
    readonly fallback: SecureContext,
  ) {}

  /** Reads the Secrets of `entries` (those read before and gone from the table are forgotten). */
  async refresh(entries: TlsEntry[]): Promise<void> {
    const contexts = new Map<string, SecureContext>();
    const versions = new Map<string, string>();
    for (const e of entries) {
      const key = keyOf(e);
      if (contexts.has(key)) continue;
      try {
        const secret = await this.read(e.namespace, e.secretName);
        const version = secret.metadata?.resourceVersion ?? '';
        const known = this.contexts.get(key);
        const context = known && this.versions.get(key) === version ? known : contextOf(secret);
        contexts.set(key, context);
        versions.set(key, version);
      } catch (err) {
        log.warn({ secret: key, err: (err as Error).message }, 'ingress: TLS secret unusable, serving the default certificate');
      }
    }
    this.contexts = contexts;
    this.versions = versions;
  }

  contextFor(entry: TlsEntry | undefined): SecureContext {
    return (entry && this.contexts.get(keyOf(entry))) ?? this.fallback;
  }
}

function contextOf(secret: Secret): SecureContext {
  const data = secret.data ?? {};
  const crt = data['tls.crt'];
  const key = data['tls.key'];
  if (!crt || !key) throw new Error('the Secret has no tls.crt and tls.key');
  return tls.createSecureContext({ cert: Buffer.from(crt, 'base64'), key: Buffer.from(key, 'base64') });
}
