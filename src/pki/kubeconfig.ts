// kubeconfig files as K3s writes them: one cluster, user and context, all named `default`.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export interface KubeconfigParams {
  server: string;
  caPem: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function kubeconfigYaml(p: KubeconfigParams): string {
  const user: Record<string, string> = {};
  if (p.certPem) user['client-certificate-data'] = b64(p.certPem);
  if (p.keyPem) user['client-key-data'] = b64(p.keyPem);
  if (p.token) user.token = p.token;
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'default', cluster: { server: p.server, 'certificate-authority-data': b64(p.caPem) } }],
    contexts: [{ name: 'default', context: { cluster: 'default', user: 'default' } }],
    'current-context': 'default',
    preferences: {},
    users: [{ name: 'default', user }],
  });
}

/** Written whole (temporary file, then rename) so a reader never sees half a file. */
export function writeKubeconfig(file: string, mode: number, p: KubeconfigParams): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, kubeconfigYaml(p), { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
