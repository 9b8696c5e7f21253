// The command-line flags, as data. Names follow K3s wherever K3s has the flag, so that a K3s user's
// config file and muscle memory carry over. Each flag can also come from the config file (key = long
// name) and from SKIFF_<NAME> in the environment; the command line wins, then env, then the file.
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PAUSE_IMAGE } from '../agent/config.js';
import { DEFAULT_REGISTRIES_FILE } from '../agent/registries.js';
import { FLANNEL_BACKENDS } from '../k8s/cluster-config.js';
import { LOG_FORMATS } from '../log.js';

export type Command = 'server' | 'agent';
export type FlagKind = 'string' | 'bool' | 'port' | 'mode' | 'list' | 'url' | 'cidr' | 'ip' | 'port-range';

export interface FlagSpec {
  name: string;
  kind: FlagKind;
  description: string;
  commands: readonly Command[];
  /** The default, computed when needed (it may depend on the user running skiff). */
  default?: () => string | boolean | number | string[];
  /** The only values a string (or each item of a list) may take. */
  choices?: readonly string[];
}

/** K3s's names for what --disable switches off, and Skiff's own addons. */
export const DISABLE_CHOICES = ['coredns', 'servicelb', 'traefik', 'ingress', 'local-storage', 'metrics-server', 'dashboard'] as const;

const both = ['server', 'agent'] as const;

export function defaultDataDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/skiff' : path.join(os.homedir(), '.skiff');
}

export const flags: readonly FlagSpec[] = [
  {
    name: 'config',
    kind: 'string',
    commands: both,
    description: 'config file (keys are long flag names)',
    default: () => '/etc/skiff/config.yaml',
  },
  { name: 'debug', kind: 'bool', commands: both, description: 'turn on debug logs', default: () => false },
  {
    name: 'log-format',
    kind: 'string',
    commands: both,
    description: 'log lines as json or text (default: text when stderr is a terminal, json otherwise)',
    choices: LOG_FORMATS,
    default: () => (process.stderr.isTTY ? 'text' : 'json'),
  },
  {
    name: 'data-dir',
    kind: 'string',
    commands: both,
    description: 'folder for state (/var/lib/skiff, or ~/.skiff when not root)',
    default: defaultDataDir,
  },
  {
    name: 'default-local-storage-path',
    kind: 'string',
    commands: both,
    description: 'folder of the local-path volumes this node provisions (default: <data-dir>/storage)',
  },
  { name: 'node-name', kind: 'string', commands: both, description: 'node name (default: host name)', default: () => os.hostname() },
  { name: 'token', kind: 'string', commands: both, description: 'shared secret used to join a server' },
  {
    name: 'agent-token',
    kind: 'string',
    commands: ['server'],
    description: 'shared secret used to join agents, not servers (written to <data-dir>/server/agent-token; default: the token)',
  },
  { name: 'https-listen-port', kind: 'port', commands: ['server'], description: 'HTTPS listen port', default: () => 6443 },
  {
    name: 'ingress-http-port',
    kind: 'port',
    commands: both,
    description: "the ingress's HTTP port on the node's addresses",
    default: () => 80,
  },
  {
    name: 'ingress-https-port',
    kind: 'port',
    commands: both,
    description: "the ingress's HTTPS port on the node's addresses",
    default: () => 443,
  },
  {
    name: 'bind-address',
    kind: 'string',
    commands: ['server'],
    description: 'address to bind the API server to',
    default: () => '0.0.0.0',
  },
  {
    name: 'write-kubeconfig',
    kind: 'string',
    commands: ['server'],
    description: 'write the admin kubeconfig to this file',
    default: () => '/etc/skiff/skiff.yaml',
  },
  {
    name: 'write-kubeconfig-mode',
    kind: 'mode',
    commands: ['server'],
    description: 'file mode of the kubeconfig (octal, e.g. 0644)',
    default: () => 0o600,
  },
  {
    name: 'advertise-address',
    kind: 'string',
    commands: ['server'],
    description: 'address the cluster reaches the API server at (default: the bind address, or the node IP)',
  },
  {
    name: 'tls-san',
    kind: 'list',
    commands: ['server'],
    description: 'extra host names or IPs for the serving certificate',
    default: () => [],
  },
  {
    name: 'service-cidr',
    kind: 'cidr',
    commands: ['server'],
    description: 'IPv4 range for Service cluster IPs',
    default: () => '10.43.0.0/16',
  },
  {
    name: 'cluster-cidr',
    kind: 'cidr',
    commands: ['server'],
    description: 'IPv4 range for pod IPs (a /24 per node)',
    default: () => '10.42.0.0/16',
  },
  {
    name: 'cluster-dns',
    kind: 'ip',
    commands: ['server'],
    description: 'cluster DNS address, served on every node (default: the 10th address of --service-cidr)',
  },
  { name: 'cluster-domain', kind: 'string', commands: ['server'], description: 'cluster domain', default: () => 'cluster.local' },
  {
    name: 'service-node-port-range',
    kind: 'port-range',
    commands: ['server'],
    description: 'port range for NodePort Services',
    default: () => '30000-32767',
  },
  {
    name: 'flannel-backend',
    kind: 'string',
    commands: ['server'],
    description: 'pod network across nodes: vxlan, host-gw (nodes on one L2 segment), or none (bring your own CNI)',
    choices: FLANNEL_BACKENDS,
    default: () => 'vxlan',
  },
  {
    name: 'disable',
    kind: 'list',
    commands: ['server'],
    description: `built-in components to switch off: ${DISABLE_CHOICES.join(', ')}`,
    choices: DISABLE_CHOICES,
    default: () => [],
  },
  {
    name: 'secrets-encryption',
    kind: 'bool',
    commands: ['server'],
    description: 'encrypt Secrets at rest (keys in <data-dir>/server/cred/encryption-config.json; see skiff secrets-encrypt)',
    default: () => false,
  },
  {
    name: 'secrets-encryption-provider',
    kind: 'string',
    commands: ['server'],
    description: 'type of the keys --secrets-encryption and skiff secrets-encrypt generate',
    choices: ['aescbc', 'secretbox', 'aesgcm'],
    default: () => 'aescbc',
  },
  { name: 'disable-agent', kind: 'bool', commands: ['server'], description: 'do not run a local agent', default: () => false },
  {
    name: 'disable-kube-proxy',
    kind: 'bool',
    commands: ['server'],
    description: 'no node programs Service rules (ClusterIP, NodePort, LoadBalancer)',
    default: () => false,
  },
  {
    name: 'disable-network-policy',
    kind: 'bool',
    commands: ['server'],
    description: 'no node enforces NetworkPolicy',
    default: () => false,
  },
  { name: 'disable-scheduler', kind: 'bool', commands: ['server'], description: 'do not run the scheduler', default: () => false },
  {
    name: 'disable-controller-manager',
    kind: 'bool',
    commands: ['server'],
    description: 'do not run the controllers',
    default: () => false,
  },
  {
    name: 'kube-apiserver-arg',
    kind: 'list',
    commands: ['server'],
    description: 'API server setting NAME=VALUE (admission-control-config-file: Pod Security defaults and exemptions)',
    default: () => [],
  },
  {
    name: 'kube-controller-manager-arg',
    kind: 'list',
    commands: ['server'],
    description: 'controller setting NAME=VALUE (node-monitor-grace-period, node-monitor-period)',
    default: () => [],
  },
  {
    name: 'etcd-snapshot-schedule-cron',
    kind: 'string',
    commands: ['server'],
    description: 'when to take scheduled datastore snapshots, in cron syntax (every 5 hours: 0 */5 * * *)',
    default: () => '0 */12 * * *',
  },
  {
    name: 'etcd-snapshot-retention',
    kind: 'string',
    commands: ['server'],
    description: 'how many scheduled snapshots to keep',
    default: () => '5',
  },
  { name: 'etcd-disable-snapshots', kind: 'bool', commands: ['server'], description: 'take no scheduled snapshots', default: () => false },
  {
    name: 'etcd-snapshot-dir',
    kind: 'string',
    commands: ['server'],
    description: 'folder of the datastore snapshots (default: <data-dir>/server/db/snapshots)',
  },
  {
    name: 'etcd-snapshot-name',
    kind: 'string',
    commands: ['server'],
    description: 'base name of the scheduled snapshots',
    default: () => 'etcd-snapshot',
  },
  {
    name: 'cluster-reset',
    kind: 'bool',
    commands: ['server'],
    description: 'with --cluster-reset-restore-path: restore the datastore from a snapshot (SQLite: nothing else to reset)',
    default: () => false,
  },
  {
    name: 'cluster-reset-restore-path',
    kind: 'string',
    commands: ['server'],
    description: 'snapshot file to restore (with --cluster-reset; the old database is moved to <data-dir>/server/db/sqlite-old-<time>)',
  },
  {
    name: 'datastore-endpoint',
    kind: 'string',
    commands: ['server'],
    description:
      'datastore shared by several servers: postgres://user:password@host:5432/database, mysql://user:password@tcp(host:3306)/database ' +
      'or https://etcd1:2379,https://etcd2:2379 (default: SQLite in <data-dir>)',
  },
  {
    name: 'cluster-init',
    kind: 'bool',
    commands: ['server'],
    description: 'start a new cluster on embedded etcd, which other servers join with --server and --token',
    default: () => false,
  },
  {
    name: 'etcd-arg',
    kind: 'list',
    commands: ['server'],
    description: "embedded etcd setting NAME=VALUE (etcd's own flag names, without the dashes)",
    default: () => [],
  },
  { name: 'datastore-cafile', kind: 'string', commands: ['server'], description: "CA bundle that signs the datastore's TLS certificate" },
  { name: 'datastore-certfile', kind: 'string', commands: ['server'], description: 'TLS client certificate for the datastore' },
  { name: 'datastore-keyfile', kind: 'string', commands: ['server'], description: 'key of --datastore-certfile' },
  {
    name: 'server',
    kind: 'url',
    commands: ['server', 'agent'],
    description: 'server to join (https://host:6443); a server joins its embedded etcd cluster',
  },
  {
    name: 'token-file',
    kind: 'string',
    commands: ['agent'],
    description: "file holding the token (the server's <data-dir>/server/node-token, or agent-token with --agent-token)",
  },
  {
    name: 'node-ip',
    kind: 'ip',
    commands: both,
    description: 'IPv4 address the node advertises (default: the first non-loopback address)',
  },
  { name: 'node-external-ip', kind: 'ip', commands: both, description: 'IPv4 address the node advertises as its ExternalIP' },
  {
    name: 'flannel-iface',
    kind: 'string',
    commands: both,
    description: 'interface the pod network runs over (default: the one with --node-ip)',
  },
  {
    name: 'resolv-conf',
    kind: 'string',
    commands: both,
    description:
      "resolver file for cluster DNS's upstream servers and pods' dnsPolicy Default (default: /etc/resolv.conf, or " +
      "systemd-resolved's /run/systemd/resolve/resolv.conf when it lists only loopback servers)",
  },
  { name: 'container-runtime-endpoint', kind: 'string', commands: both, description: 'use this containerd socket instead of running one' },
  {
    name: 'pause-image',
    kind: 'string',
    commands: both,
    description: 'sandbox (pause) image for pods',
    default: () => DEFAULT_PAUSE_IMAGE,
  },
  { name: 'cni-bridge', kind: 'string', commands: both, description: 'Linux bridge of the pod network', default: () => 'cni0' },
  { name: 'node-label', kind: 'list', commands: both, description: 'label the node registers with, key=value', default: () => [] },
  { name: 'node-taint', kind: 'list', commands: both, description: 'taint the node registers with, key=value:Effect', default: () => [] },
  {
    name: 'private-registry',
    kind: 'string',
    commands: both,
    description: "registries file as K3s's registries.yaml: mirrors, auth and TLS for image pulls",
    default: () => DEFAULT_REGISTRIES_FILE,
  },
  {
    name: 'kubelet-arg',
    kind: 'list',
    commands: both,
    description:
      'agent setting NAME=VALUE: port (where the API server reaches the node, 10250), ' +
      'container-log-max-size (10Mi), container-log-max-files (5)',
    default: () => [],
  },
  {
    name: 'hollow',
    kind: 'bool',
    commands: ['agent'],
    description: 'run a hollow node: registers and reports pods Running without containers (tests, benchmarks)',
    default: () => false,
  },
];

export function flagsFor(command: Command): FlagSpec[] {
  return flags.filter((f) => f.commands.includes(command));
}
