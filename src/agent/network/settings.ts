// What every part of the node's network (pod network, Services, DNS) is started with, apart from
// index.ts so that the parts can name these types without importing the module that imports them.
import type { ApiClient } from '../../client/rest-client.js';
import type { ClusterConfig } from '../../k8s/cluster-config.js';

export interface NodeNetworkSettings {
  nodeName: string;
  /** --node-ip: this node's address toward the other nodes. */
  nodeIP: string;
  /** --node-external-ip */
  externalIP?: string;
  /** --flannel-iface: the interface the pod network's tunnel runs over (default: the one with nodeIP). */
  flannelIface?: string;
  /** The host's resolv.conf (--resolv-conf, or the one found): where cluster DNS forwards other names. */
  resolvConf: string;
  /** The agent's data dir, for state that must survive restarts. */
  dataDir: string;
  cluster: ClusterConfig;
  /** --ingress-http-port and --ingress-https-port (default 80 and 443). */
  ingressPorts?: { http: number; https: number };
}

/** One part of the network (pod network, Services, DNS): started in order, stopped in reverse. */
export type NetworkPart = (api: ApiClient, s: NodeNetworkSettings) => Promise<{ stop(): Promise<void> | void }>;
