// From the merged flag values (config.ts) to the typed configs that `skiff server` and `skiff agent`
// take, so that neither reads the command line's untyped settings. Each value was checked against its
// flag's kind when it was read (values.ts); the readers here only say, and check, which type it has.
import fs from 'node:fs';
import type { AgentConfig, NodeConfig } from '../agent/config.js';
import { PROVIDER_TYPES } from '../api/encryption/providers.js';
import { FLANNEL_BACKENDS } from '../k8s/cluster-config.js';
import { LOG_FORMATS, type LogFormat } from '../log.js';
import type { ServerConfig } from '../server/config.js';
import type { Settings } from './config.js';
import { UsageError, whyUnreadable } from './values.js';

/** Typed reads of settings; a value of the wrong type is a bug in the flag table, not the user's. */
class Read {
  constructor(private readonly s: Settings) {}

  private wrong(name: string): never {
    throw new Error(`--${name} has the value ${JSON.stringify(this.s[name])}, not of its flag's kind`);
  }

  optional(name: string): string | undefined {
    const v = this.s[name];
    return v === undefined || typeof v === 'string' ? v : this.wrong(name);
  }

  text(name: string): string {
    return this.optional(name) ?? this.wrong(name);
  }

  oneOf<T extends string>(name: string, choices: readonly T[]): T {
    return choices.find((c) => c === this.s[name]) ?? this.wrong(name);
  }

  number(name: string): number {
    const v = this.s[name];
    return typeof v === 'number' ? v : this.wrong(name);
  }

  bool(name: string): boolean {
    const v = this.s[name];
    return typeof v === 'boolean' ? v : this.wrong(name);
  }

  list(name: string): string[] {
    const v = this.s[name];
    return Array.isArray(v) ? v : this.wrong(name);
  }
}

export function logConfig(s: Settings): { debug: boolean; format: LogFormat } {
  const read = new Read(s);
  return { debug: read.bool('debug'), format: read.oneOf('log-format', LOG_FORMATS) };
}

function nodeConfig(read: Read): NodeConfig {
  return {
    dataDir: read.text('data-dir'),
    nodeName: read.text('node-name'),
    nodeIP: read.optional('node-ip'),
    nodeExternalIP: read.optional('node-external-ip'),
    flannelIface: read.optional('flannel-iface'),
    resolvConf: read.optional('resolv-conf'),
    containerRuntimeEndpoint: read.optional('container-runtime-endpoint'),
    pauseImage: read.text('pause-image'),
    cniBridge: read.text('cni-bridge'),
    nodeLabels: read.list('node-label'),
    nodeTaints: read.list('node-taint'),
    privateRegistry: read.text('private-registry'),
    kubeletArgs: read.list('kubelet-arg'),
    defaultLocalStoragePath: read.optional('default-local-storage-path'),
    ingressHttpPort: read.number('ingress-http-port'),
    ingressHttpsPort: read.number('ingress-https-port'),
  };
}

export function serverConfig(s: Settings): ServerConfig {
  const read = new Read(s);
  return {
    ...nodeConfig(read),
    token: read.optional('token'),
    agentToken: read.optional('agent-token'),
    httpsListenPort: read.number('https-listen-port'),
    bindAddress: read.text('bind-address'),
    writeKubeconfig: read.text('write-kubeconfig'),
    writeKubeconfigMode: read.number('write-kubeconfig-mode'),
    advertiseAddress: read.optional('advertise-address'),
    tlsSan: read.list('tls-san'),
    serviceCIDR: read.text('service-cidr'),
    clusterCIDR: read.text('cluster-cidr'),
    clusterDNS: read.optional('cluster-dns'),
    clusterDomain: read.text('cluster-domain'),
    serviceNodePortRange: read.text('service-node-port-range'),
    flannelBackend: read.oneOf('flannel-backend', FLANNEL_BACKENDS),
    disable: read.list('disable'),
    secretsEncryption: read.bool('secrets-encryption'),
    secretsEncryptionProvider: read.oneOf('secrets-encryption-provider', PROVIDER_TYPES),
    disableAgent: read.bool('disable-agent'),
    disableKubeProxy: read.bool('disable-kube-proxy'),
    disableNetworkPolicy: read.bool('disable-network-policy'),
    disableScheduler: read.bool('disable-scheduler'),
    disableControllerManager: read.bool('disable-controller-manager'),
    kubeApiserverArgs: read.list('kube-apiserver-arg'),
    kubeControllerManagerArgs: read.list('kube-controller-manager-arg'),
    etcdSnapshotScheduleCron: read.text('etcd-snapshot-schedule-cron'),
    etcdSnapshotRetention: retention(read.text('etcd-snapshot-retention')),
    etcdDisableSnapshots: read.bool('etcd-disable-snapshots'),
    etcdSnapshotDir: read.optional('etcd-snapshot-dir'),
    etcdSnapshotName: read.text('etcd-snapshot-name'),
    clusterReset: read.bool('cluster-reset'),
    clusterResetRestorePath: read.optional('cluster-reset-restore-path'),
    datastoreEndpoint: datastoreEndpoint(read.optional('datastore-endpoint')),
    clusterInit: read.bool('cluster-init'),
    server: read.optional('server'),
    etcdArgs: read.list('etcd-arg'),
    datastoreTls: {
      cafile: read.optional('datastore-cafile'),
      certfile: read.optional('datastore-certfile'),
      keyfile: read.optional('datastore-keyfile'),
    },
  };
}

/** --datastore-endpoint: unset for SQLite, or Postgres, MySQL or etcd; anything else is refused in so many words. */
function datastoreEndpoint(endpoint: string | undefined): string | undefined {
  if (!endpoint) return undefined;
  // Only the scheme is repeated: the rest may hold a password.
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(endpoint)?.[1]?.toLowerCase();
  if (scheme && ['postgres', 'postgresql', 'mysql', 'http', 'https'].includes(scheme)) return endpoint;
  throw new UsageError(
    'invalid --datastore-endpoint: expected postgres://user:password@host:port/database, mysql://user:password@tcp(host:port)/database ' +
      'or https://host:2379 (etcd)',
  );
}

/** --etcd-snapshot-retention: a whole number of snapshots, at least 1. */
export function retention(text: string, flag = 'etcd-snapshot-retention'): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1) throw new UsageError(`invalid --${flag} ${text}: a whole number, at least 1`);
  return n;
}

/** The join token: --token, or the content of --token-file (K3s's two ways). */
function agentToken(read: Read): string {
  const token = read.optional('token');
  const file = read.optional('token-file');
  if (token !== undefined && file !== undefined) throw new UsageError('skiff agent takes --token or --token-file, not both');
  if (file === undefined) {
    if (token === undefined) throw new UsageError('skiff agent needs --token or --token-file (or SKIFF_TOKEN)');
    return token;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`cannot read --token-file ${file}: ${whyUnreadable(err)}`);
  }
  if (!text) throw new UsageError(`--token-file ${file} is empty`);
  return text;
}

export function agentConfig(s: Settings): AgentConfig {
  const read = new Read(s);
  const server = read.optional('server');
  if (server === undefined) throw new UsageError('skiff agent needs --server (or SKIFF_SERVER)');
  return { ...nodeConfig(read), server, token: agentToken(read), hollow: read.bool('hollow') };
}
