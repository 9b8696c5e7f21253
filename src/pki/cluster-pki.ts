// The cluster's TLS material under <data-dir>/server/tls (K3s's file names): made on first start,
// reused after. The serving certificate is issued again when its wanted names grow.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isIP } from 'node:net';
import { certificateSans, createCA, daysLeft, generateKey, issueCertificate, keyToPem, type KeyPair } from './certificates.js';

export interface ClusterPki {
  dir: string;
  serverCa: KeyPair;
  clientCa: KeyPair;
  serving: KeyPair;
  admin: KeyPair;
  /** What the API server presents to nodes' agents (logs, exec, port-forward). */
  kubeletClient: KeyPair;
  /** PKCS#8 PEM of the key that signs service account tokens. */
  serviceAccountKeyPem: string;
}

/** The API server's identity toward nodes (the name kubeadm gives it too). */
export const KUBELET_CLIENT_NAME = 'kube-apiserver-kubelet-client';

export const KUBERNETES_SANS = [
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
  'localhost',
  '127.0.0.1',
  '::1',
];

/** Host name, every non-internal address of this machine, the in-cluster names, and --tls-san. */
export function wantedSans(extra: string[]): string[] {
  const ips = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80')))
    .map((a) => a!.address);
  return [...new Set([os.hostname().toLowerCase(), ...KUBERNETES_SANS, ...ips, ...extra])];
}

const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;

export function checkSan(san: string): void {
  if (!isIP(san) && !HOSTNAME.test(san)) throw new Error(`invalid --tls-san ${JSON.stringify(san)}: expected a host name or an IP address`);
}

/** One spelling per name: lower case, and IPv6 addresses with every group written out. */
function canonical(name: string): string {
  if (isIP(name) !== 6) return name.toLowerCase();
  const [head, tail] = name.toLowerCase().split('::');
  const groups = (g: string | undefined) => (g ? g.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array(missing).fill('0'), ...groups(tail)];
  return all.map((g) => parseInt(g, 16).toString(16)).join(':');
}

/** Whether the certificate is valid for every one of `sans`. */
export function coversSans(certPem: string, sans: string[]): boolean {
  const have = new Set(certificateSans(certPem).map(canonical));
  return sans.every((s) => have.has(canonical(s)));
}

function read(dir: string, name: string): KeyPair | undefined {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  if (!fs.existsSync(cert) || !fs.existsSync(key)) return undefined;
  return { certPem: fs.readFileSync(cert, 'utf8'), keyPem: fs.readFileSync(key, 'utf8') };
}

function write(dir: string, name: string, pair: KeyPair): KeyPair {
  fs.writeFileSync(path.join(dir, `${name}.crt`), pair.certPem, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, `${name}.key`), pair.keyPem, { mode: 0o600 });
  return pair;
}

/** The pair `name`.crt/.key in `dir`: the one there while good for 30 more days and `stillGood`, else a new one from `make`. */
export async function ensurePair(
  dir: string,
  name: string,
  make: () => Promise<KeyPair>,
  stillGood: (p: KeyPair) => boolean = () => true,
): Promise<KeyPair> {
  const existing = read(dir, name);
  if (existing && stillGood(existing) && daysLeft(existing.certPem) > 30) return existing;
  return write(dir, name, await make());
}

export async function ensureClusterPki(dataDir: string, opts: { sans: string[] }): Promise<ClusterPki> {
  opts.sans.forEach(checkSan);
  const dir = path.join(dataDir, 'server', 'tls');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const serverCa = await ensurePair(dir, 'server-ca', () => createCA(`skiff-server-ca@${Math.floor(Date.now() / 1000)}`));
  const clientCa = await ensurePair(dir, 'client-ca', () => createCA(`skiff-client-ca@${Math.floor(Date.now() / 1000)}`));
  const sans = wantedSans(opts.sans);
  const serving = await ensurePair(
    dir,
    'serving-kube-apiserver',
    () => issueCertificate(serverCa, { commonName: 'kube-apiserver', sans, usage: 'server' }),
    (p) => coversSans(p.certPem, sans),
  );
  const admin = await ensurePair(dir, 'client-admin', () =>
    issueCertificate(clientCa, { commonName: 'system:admin', organizations: ['system:masters'], usage: 'client' }),
  );
  const kubeletClient = await ensurePair(dir, 'client-kube-apiserver', () =>
    issueCertificate(clientCa, { commonName: KUBELET_CLIENT_NAME, organizations: ['system:masters'], usage: 'client' }),
  );
  const saKeyFile = path.join(dir, 'service.key');
  if (!fs.existsSync(saKeyFile)) fs.writeFileSync(saKeyFile, await keyToPem((await generateKey()).privateKey), { mode: 0o600 });
  return { dir, serverCa, clientCa, serving, admin, kubeletClient, serviceAccountKeyPem: fs.readFileSync(saKeyFile, 'utf8') };
}

/** A client certificate for a user or node, signed by the cluster's client CA. */
export function issueClientCertificate(pki: ClusterPki, commonName: string, organizations: string[] = []): Promise<KeyPair> {
  return issueCertificate(pki.clientCa, { commonName, organizations, usage: 'client' });
}
