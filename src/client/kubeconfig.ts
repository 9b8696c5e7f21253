// Reads a kubeconfig (its current context) into what the HTTPS transport needs.
import fs from 'node:fs';
import YAML from 'yaml';
import type { HttpsTarget } from './transport.js';

const b64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : undefined);

export function loadKubeconfig(file: string): HttpsTarget {
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as any;
  const ctxName = doc?.['current-context'];
  const ctx = doc?.contexts?.find((c: any) => c.name === ctxName)?.context ?? doc?.contexts?.[0]?.context;
  const cluster = doc?.clusters?.find((c: any) => c.name === ctx?.cluster)?.cluster;
  const user = doc?.users?.find((u: any) => u.name === ctx?.user)?.user ?? {};
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
