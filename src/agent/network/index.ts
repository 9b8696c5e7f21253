// The node's network, what K3s gets from flannel, kube-proxy and CoreDNS: the pod network across
// nodes, Services, and cluster DNS, each a loop fed by informers that programs this node's kernel.
// Started by the node agent once the node is registered; stopping leaves the kernel as it is (a
// restarted agent takes over its own devices and rules), uninstalling removes them.
import type { ApiClient } from '../../client/rest-client.js';
import type { ClusterConfig } from '../../k8s/cluster-config.js';
import { startServices } from './services/index.js';

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
}

/** One part of the network (pod network, Services, DNS): started in order, stopped in reverse. */
export type NetworkPart = (api: ApiClient, s: NodeNetworkSettings) => Promise<{ stop(): Promise<void> | void }>;

const PARTS: NetworkPart[] = [startServices];

export async function startNodeNetwork(api: ApiClient, s: NodeNetworkSettings): Promise<{ stop(): Promise<void> }> {
  const started: { stop(): Promise<void> | void }[] = [];
  for (const part of PARTS) started.push(await part(api, s));
  return {
    async stop() {
      for (const p of started.reverse()) await p.stop();
    },
  };
}
