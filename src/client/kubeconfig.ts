// Reads a kubeconfig (its current context) into what the HTTPS transport needs.
import fs from 'node:fs';
import YAML from 'yaml';
import type { HttpsTarget } from './transport.js';

const b64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : undefined);

/** The parts of a kubeconfig this reads. */
interface Kubeconfig {
  'current-context'?: string;
  contexts?: { name?: string; context?: { cluster?: string; user?: string } }[];
  clusters?: { name?: string; cluster?: { server?: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }[];
  users?: { name?: string; user?: KubeconfigUser }[];
}

interface KubeconfigUser {
  'client-certificate-data'?: string;
  'client-certificate'?: string;
  'client-key-data'?: string;
  'client-key'?: string;
  token?: string;
}

export function loadKubeconfig(file: string): HttpsTarget {
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as Kubeconfig | null;
  const ctxName = doc?.['current-context'];
  const ctx = doc?.contexts?.find((c) => c.name === ctxName)?.context ?? doc?.contexts?.[0]?.context;
  const cluster = doc?.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user: KubeconfigUser = doc?.users?.find((u) => u.name === ctx?.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`kubeconfig ${file} names no cluster server`);
  const read = (data: string | undefined, path: string | undefined) => b64(data) ?? (path ? fs.readFileSync(path, 'utf8') : undefined);
  return {
    server: cluster.server,
    caPem: read(cluster['certificate-authority-data'], cluster['certificate-authority']) ?? '',
    certPem: read(user['client-certificate-data'], user['client-certificate']),
    keyPem: read(user['client-key-data'], user['client-key']),
    token: user.token,
  };
}
