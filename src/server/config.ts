// The server's configuration, typed: what `skiff server` is given (src/cli builds it from flags, the
// environment and the config file), and the checks that turn it into the settings of its parts. A
// bad setting is a ConfigError, found before the server opens anything.
import type { NodeConfig } from '../agent/config.js';
import type { PodSecurityConfig } from '../api/admission/pod-security/admission.js';
import { readPodSecurityConfig } from '../api/admission/pod-security/config-file.js';
import type { ProviderType } from '../api/encryption/providers.js';
import { timingsFromArgs, type ControllerTimings } from '../controllers/settings.js';
import type { ClusterConfig, FlannelBackend } from '../k8s/cluster-config.js';
import { checkSetting, ConfigError } from '../k8s/config-error.js';
import { intToIp, ipToInt } from '../k8s/ipv4.js';
import type { Tls } from '../store/index.js';

/** The server's flags (named after them); the node ones configure its own agent. */
export interface ServerConfig extends NodeConfig {
  /** --token: the secret of <data-dir>/server/token (generated when not given). */
  token?: string;
  /** --agent-token: a secret only for agents. */
  agentToken?: string;
  httpsListenPort: number;
  bindAddress: string;
  writeKubeconfig: string;
  writeKubeconfigMode: number;
  advertiseAddress?: string;
  tlsSan: string[];
  serviceCIDR: string;
  clusterCIDR: string;
  clusterDNS?: string;
  clusterDomain: string;
  /** from-to, e.g. 30000-32767. */
  serviceNodePortRange: string;
  flannelBackend: FlannelBackend;
  disable: string[];
  secretsEncryption: boolean;
  secretsEncryptionProvider: ProviderType;
  disableAgent: boolean;
  disableKubeProxy: boolean;
  disableNetworkPolicy: boolean;
  disableScheduler: boolean;
  disableControllerManager: boolean;
  /** NAME=VALUE items, with kube-apiserver's names. */
  kubeApiserverArgs: string[];
  /** NAME=VALUE items, with kube-controller-manager's names. */
  kubeControllerManagerArgs: string[];
  /** Scheduled snapshots of the datastore (K3s's etcd- flags). */
  etcdSnapshotScheduleCron: string;
  etcdSnapshotRetention: number;
  etcdDisableSnapshots: boolean;
  /** Default <data-dir>/server/db/snapshots. */
  etcdSnapshotDir?: string;
  etcdSnapshotName: string;
  /** --cluster-reset, with --cluster-reset-restore-path: restore the datastore from a snapshot first. */
  clusterReset: boolean;
  clusterResetRestorePath?: string;
  /** --datastore-endpoint: Postgres, MySQL or etcd shared by any number of servers; unset: SQLite in the data dir. */
  datastoreEndpoint?: string;
  /** --cluster-init: a new cluster on embedded etcd. */
  clusterInit: boolean;
  /** --server: the server whose embedded etcd cluster this one joins. */
  server?: string;
  /** --etcd-arg: NAME=VALUE settings of the embedded etcd. */
  etcdArgs: string[];
  /** --datastore-cafile, --datastore-certfile, --datastore-keyfile. */
  datastoreTls: Tls;
}

/** What the server's parts take, checked. */
export interface ServerSettings {
  cluster: ClusterConfig;
  timings: ControllerTimings;
  podSecurity?: PodSecurityConfig;
}

export function serverSettings(c: ServerConfig): ServerSettings {
  checkDatastoreFlags(c);
  return {
    timings: checkSetting(() => timingsFromArgs(c.kubeControllerManagerArgs)),
    podSecurity: apiServerArgs(c.kubeApiserverArgs),
    cluster: clusterConfig(c),
  };
}

/** --datastore-endpoint, --cluster-init and --server choose one datastore between them. */
function checkDatastoreFlags(c: ServerConfig): void {
  if (c.datastoreEndpoint && c.clusterInit)
    throw new ConfigError('--cluster-init starts embedded etcd: it cannot be used with --datastore-endpoint');
  if (c.datastoreEndpoint && c.server)
    throw new ConfigError('--server joins an embedded etcd cluster: servers sharing --datastore-endpoint need only the same --token');
  if (c.server && !c.token)
    throw new ConfigError("--server needs --token: the token of the server it joins (that server's <data-dir>/server/token)");
}

/** The API server's settings from K3s-style --kube-apiserver-arg NAME=VALUE, with kube-apiserver's names. */
function apiServerArgs(args: string[]): PodSecurityConfig | undefined {
  let podSecurity: PodSecurityConfig | undefined;
  for (const arg of args) {
    const [name, value] = arg.replace(/^--/, '').split('=', 2);
    if (name !== 'admission-control-config-file' || !value)
      throw new ConfigError(`unsupported --kube-apiserver-arg "${arg}": supported is admission-control-config-file=<path>`);
    podSecurity = checkSetting(() => readPodSecurityConfig(value));
  }
  return podSecurity;
}

/** The network every node follows, from the server's flags (agents read it at CLUSTER_CONFIG_PATH). */
function clusterConfig(c: ServerConfig): ClusterConfig {
  // Each node gets a /24 of the cluster range, so the range must hold at least one.
  if (Number(c.clusterCIDR.split('/')[1]) > 24)
    throw new ConfigError(`invalid --cluster-cidr ${c.clusterCIDR}: it must be a /24 or larger (each node gets a /24)`);
  const [base, bits] = c.serviceCIDR.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  const clusterDNS = c.clusterDNS ?? intToIp(ipToInt(base) + 10);
  const offset = ipToInt(clusterDNS) - ipToInt(base);
  if (offset <= 1 || offset >= size - 1)
    throw new ConfigError(
      `invalid --cluster-dns ${clusterDNS}: it must be an address of --service-cidr ${c.serviceCIDR} other than its first`,
    );
  const [from, to] = c.serviceNodePortRange.split('-').map(Number) as [number, number];
  return {
    clusterCIDR: c.clusterCIDR,
    serviceCIDR: c.serviceCIDR,
    clusterDNS,
    clusterDomain: c.clusterDomain,
    serviceNodePortRange: [from, to],
    flannelBackend: c.flannelBackend,
    disabled: c.disable,
    disableKubeProxy: c.disableKubeProxy,
    disableNetworkPolicy: c.disableNetworkPolicy,
  };
}
