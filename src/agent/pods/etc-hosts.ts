// /etc/hosts for a pod, as the kubelet writes it: localhost, the pod's own name (and FQDN with a
// subdomain), and hostAliases. Written only when it changes.
import fs from 'node:fs';
import path from 'node:path';
import type { P } from './labels.js';

export function writeEtcHosts(file: string, pod: P, podIP: string): void {
  const hostname = pod.spec?.hostname ?? pod.metadata!.name!;
  const fqdn = pod.spec?.subdomain ? `${hostname}.${pod.spec.subdomain}.${pod.metadata!.namespace}.svc.cluster.local\t` : '';
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${podIP}\t${fqdn}${hostname}`,
  ];
  for (const alias of pod.spec?.hostAliases ?? [])
    lines.push(`# Entries added by HostAliases.`, `${alias.ip}\t${(alias.hostnames ?? []).join('\t')}`);
  const text = `${lines.join('\n')}\n`;
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}
