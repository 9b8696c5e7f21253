// The Services part of the node's network (kube-proxy's job), started by startNodeNetwork.
// Why nftables: one table of Skiff's own, replaced in one `nft -f` transaction so traffic never
// meets half a rule set; verdict maps find a service in one lookup however many there are; and it
// is Debian's nftables and kube-proxy's own newest mode. iptables-restore would work too, but with a
// chain per service matched one after the other.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { Informer } from '../../../client/informer.js';
import type { ApiClient } from '../../../client/rest-client.js';
import { endpointSlices, services } from '../../../client/resources.js';
import { log } from '../../../log.js';
import type { NetworkPart } from '../settings.js';
import { nft } from './nft.js';
import { ServiceProxy } from './proxy.js';

export { removeServiceRules } from './nft.js';

/** Objects as the proxy reads them: managedFields dropped (bulky, never read). */
export function lean<O>(obj: O): O {
  const meta = (obj as { metadata?: { managedFields?: unknown } }).metadata;
  if (!meta?.managedFields) return obj;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest };
}

/**
 * Replies from a pod to a pod on the same bridge are bridged, not routed: only with br_netfilter do
 * they meet conntrack to be un-DNATed back to the Service address (as K3s, load it and turn it on).
 */
export async function bridgeNetfilter(): Promise<void> {
  await new Promise((resolve) => execFile('modprobe', ['br_netfilter'], () => resolve(undefined)));
  try {
    fs.writeFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', '1');
  } catch (err) {
    log.warn(
      { err: (err as Error).message },
      'services: cannot turn on bridge-nf-call-iptables; pods may not reach Services on their own node',
    );
  }
}

export const startServices: NetworkPart = async (api: ApiClient, s) => {
  if (s.cluster.disableKubeProxy) return { stop() {} };
  await nft(['--version']).catch((err) => {
    throw new Error(`Services need nftables: ${(err as Error).message} (or run the server with --disable-kube-proxy)`);
  });
  await bridgeNetfilter();
  const serviceInformer = new Informer<Service>(api.resource(services), { transform: lean });
  const sliceInformer = new Informer<EndpointSlice>(api.resource(endpointSlices), { transform: lean });
  const node = {
    nodeName: s.nodeName,
    clusterCIDR: s.cluster.clusterCIDR,
    serviceCIDR: s.cluster.serviceCIDR,
    clusterDNS: s.cluster.clusterDNS,
  };
  const proxy = new ServiceProxy(serviceInformer, sliceInformer, {
    node,
    onSync: (r) => {
      if (r.applied)
        log.debug(
          { servicePorts: r.servicePorts, endpoints: r.endpoints, ms: Math.round(r.renderMs + r.applyMs) },
          'services: rules applied',
        );
    },
  });
  serviceInformer.start();
  sliceInformer.start();
  // The first table is applied in the background: the agent does not wait on the API's lists.
  void proxy.start().catch((err) => log.error({ err: (err as Error).message }, 'services: starting failed'));
  return {
    stop() {
      proxy.stop();
      serviceInformer.stop();
      sliceInformer.stop();
    },
  };
};
