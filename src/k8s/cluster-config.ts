// The shape of the cluster's network that the server decides and every agent follows (K3s hands
// the same to its agents from /v1-k3s/config): pod and service ranges, cluster DNS, the pod network
// backend, and which built-in components are switched off.

/** Where an agent reads it, with its node client certificate. */
export const CLUSTER_CONFIG_PATH = '/v1-skiff/config';

export const FLANNEL_BACKENDS = ['vxlan', 'host-gw', 'none'] as const;
export type FlannelBackend = (typeof FLANNEL_BACKENDS)[number];

export interface ClusterConfig {
  /** --cluster-cidr: each node gets a /24 of it as spec.podCIDR. */
  clusterCIDR: string;
  /** --service-cidr: ClusterIPs; its first address is default/kubernetes. */
  serviceCIDR: string;
  /** --cluster-dns: the address pods resolve names at, local on every node. */
  clusterDNS: string;
  /** --cluster-domain */
  clusterDomain: string;
  /** --service-node-port-range, e.g. [30000, 32767]. */
  serviceNodePortRange: [number, number];
  /** --flannel-backend: how pod ranges reach each other across nodes. */
  flannelBackend: FlannelBackend;
  /** --disable: built-in components switched off (K3s's names: coredns, servicelb, ...). */
  disabled: string[];
  /** --disable-kube-proxy: no node programs Service rules (another proxy does, or none is wanted). */
  disableKubeProxy?: boolean;
  /** --disable-network-policy: no node enforces NetworkPolicy (and each removes the rules it had). */
  disableNetworkPolicy?: boolean;
}

/** What a cluster runs with when nothing is said (K3s's defaults). */
export const DEFAULT_CLUSTER_CONFIG: ClusterConfig = {
  clusterCIDR: '10.42.0.0/16',
  serviceCIDR: '10.43.0.0/16',
  clusterDNS: '10.43.0.10',
  clusterDomain: 'cluster.local',
  serviceNodePortRange: [30000, 32767],
  flannelBackend: 'vxlan',
  disabled: [],
  disableKubeProxy: false,
  disableNetworkPolicy: false,
};
