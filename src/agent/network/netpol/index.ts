// The NetworkPolicy part of the node's network (what kube-router's policy controller does in K3s),
// started by startNodeNetwork after the Service rules: this node's pods are isolated and let through
// as the cluster's NetworkPolicies say, in an nftables table of its own (`inet skiff-netpol`), with
// the same machinery as the Service rules (one nft transaction per change). --disable-network-policy
// on the server turns it off on every node, which then removes a table left from before.
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { Informer } from '../../../client/informer.js';
import type { ApiClient } from '../../../client/rest-client.js';
import { namespaces, networkPolicies, pods } from '../../../client/resources.js';
import { log } from '../../../log.js';
import { bridgeNetfilter } from '../services/index.js';
import { applyRules, nft } from '../services/nft.js';
import type { NetworkPart } from '../settings.js';
import { PolicyLoop } from './loop.js';
import { FAMILY, TABLE } from './render.js';

/** Objects as the loop reads them: managedFields and annotations dropped (bulky, never read). */
function lean<O>(obj: O): O {
  const meta = (obj as { metadata?: { managedFields?: unknown; annotations?: unknown } }).metadata;
  if (!meta?.managedFields && !meta?.annotations) return obj;
  const { managedFields: _m, annotations: _a, ...rest } = meta;
  return { ...obj, metadata: rest };
}

/** Removes this node's NetworkPolicy rules (uninstalling, or the feature switched off). */
export async function removePolicyRules(): Promise<void> {
  await nft(['-f', '-'], `table ${FAMILY} ${TABLE}\ndelete table ${FAMILY} ${TABLE}\n`);
}

async function tableExists(): Promise<boolean> {
  const out = await nft(['list', 'tables', FAMILY]);
  return out.split('\n').some((line) => line.trim() === `table ${FAMILY} ${TABLE}`);
}

export const startNetworkPolicy: NetworkPart = async (api: ApiClient, s) => {
  if (s.cluster.disableNetworkPolicy) {
    await removePolicyRules().catch(() => {}); // no nft, or nothing to remove
    return { stop() {} };
  }
  await nft(['--version']).catch((err) => {
    throw new Error(`NetworkPolicy needs nftables: ${(err as Error).message} (or run the server with --disable-network-policy)`);
  });
  // Pods on one bridge reach each other bridged: only with br_netfilter does their traffic meet the rules.
  await bridgeNetfilter();
  const policyInformer = new Informer<NetworkPolicy>(api.resource(networkPolicies), { transform: lean });
  const podInformer = new Informer<Pod>(api.resource(pods), { transform: lean });
  const namespaceInformer = new Informer<Namespace>(api.resource(namespaces), { transform: lean });
  const loop = new PolicyLoop(policyInformer, podInformer, namespaceInformer, {
    node: { nodeName: s.nodeName, clusterDNS: s.cluster.disabled.includes('coredns') ? undefined : s.cluster.clusterDNS },
    apply: applyRules,
    tableExists,
    onSync: (r) => {
      if (r.applied) log.debug({ isolatedPods: r.isolatedPods, ms: Math.round(r.renderMs + r.applyMs) }, 'network policy: rules applied');
    },
  });
  for (const i of [policyInformer, podInformer, namespaceInformer]) i.start();
  void loop.start().catch((err) => log.error({ err: (err as Error).message }, 'network policy: starting failed'));
  return {
    stop() {
      loop.stop();
      for (const i of [policyInformer, podInformer, namespaceInformer]) i.stop();
    },
  };
};
