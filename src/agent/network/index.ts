// The node's network, what K3s gets from flannel, kube-proxy, its network policy controller, CoreDNS
// and Traefik: the pod network across nodes, Services, NetworkPolicy, cluster DNS and the ingress,
// each a loop fed by informers that programs this node's kernel (or, the ingress, serves its ports).
// Started by the node agent once the node is registered; stopping leaves the kernel as it is (a
// restarted agent takes over its own devices and rules), uninstalling removes them.
import type { ApiClient } from '../../client/rest-client.js';
import type { NetworkPart, NodeNetworkSettings } from './settings.js';
import { startPodNetwork } from './podnet/pod-network.js';
import { startServices } from './services/index.js';
import { clusterDns } from './dns/index.js';
import { startNetworkPolicy } from './netpol/index.js';
import { startIngress } from './ingress/index.js';

export type { NetworkPart, NodeNetworkSettings } from './settings.js';

const PARTS: NetworkPart[] = [startPodNetwork, startServices, startNetworkPolicy, clusterDns, startIngress];

export async function startNodeNetwork(api: ApiClient, s: NodeNetworkSettings): Promise<{ stop(): Promise<void> }> {
  const started: { stop(): Promise<void> | void }[] = [];
  for (const part of PARTS) started.push(await part(api, s));
  return {
    async stop() {
      for (const p of started.reverse()) await p.stop();
    },
  };
}
