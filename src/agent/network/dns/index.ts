// Cluster DNS, served by the agent on every node (what K3s runs CoreDNS for, with no pod): the
// cluster DNS address made local on the node (interface.ts), a UDP and TCP server on its port 53
// (server.ts) answering the cluster zone from Services and EndpointSlices (records.ts, feed.ts) and
// forwarding every other name to the host's upstream servers (forwarder.ts) with a small cache.
// `--disable coredns` (K3s's name) turns it off: no server, no address (pods are still told the
// cluster DNS address, as K3s's kubelet tells them, for a DNS server of the user's own).
import fs from 'node:fs';
import net from 'node:net';
import { log } from '../../../log.js';
import { readResolvConf } from '../../resolv-conf.js';
import type { NetworkPart } from '../settings.js';
import { DnsCache } from './cache.js';
import { ZoneFeed } from './feed.js';
import { Forwarder, type Upstream } from './forwarder.js';
import { DnsHandler } from './handler.js';
import { ensureDnsInterface, removeDnsInterface } from './interface.js';
import { ClusterRecords } from './records.js';
import { startDnsServer } from './server.js';

export const DNS_PORT = 53;

/** The upstream servers of a resolv.conf, read again when the file changes; never the cluster DNS address itself. */
export function resolvConfUpstreams(file: string, clusterDNS: string): () => Upstream[] {
  let seen = '';
  let upstreams: Upstream[] = [];
  return () => {
    let stamp = '';
    try {
      const st = fs.statSync(file);
      stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      // gone: no upstreams
    }
    if (stamp !== seen) {
      seen = stamp;
      upstreams = readResolvConf(file)
        .nameservers.filter((s) => net.isIP(s) && s !== clusterDNS)
        .map((host) => ({ host, port: DNS_PORT }));
      log.info({ file, upstreams: upstreams.map((u) => u.host) }, 'cluster DNS: upstream servers');
    }
    return upstreams;
  };
}

export const clusterDns: NetworkPart = async (api, s) => {
  const address = s.cluster.clusterDNS;
  if (s.cluster.disabled.includes('coredns')) {
    await removeDnsInterface();
    log.info({ address }, 'cluster DNS disabled (--disable coredns): pods are still told this address, which this node does not serve');
    return { stop() {} };
  }
  await ensureDnsInterface(address);
  const zone = new ClusterRecords(s.cluster.clusterDomain, address);
  const feed = new ZoneFeed(api, zone);
  await feed.start();
  const forwarder = new Forwarder({ upstreams: resolvConfUpstreams(s.resolvConf, address), cache: new DnsCache() });
  const handler = new DnsHandler(zone, forwarder);
  let server: Awaited<ReturnType<typeof startDnsServer>>;
  try {
    server = await startDnsServer(address, DNS_PORT, (msg, transport) => handler.handle(msg, transport));
  } catch (err) {
    feed.stop();
    const hint = 'another DNS server listening on all addresses? or run with --disable coredns';
    throw new Error(`cluster DNS cannot listen on ${address}:${DNS_PORT}: ${(err as Error).message} (${hint})`);
  }
  log.info({ address, domain: s.cluster.clusterDomain }, 'cluster DNS serving');
  return {
    async stop() {
      await server.close();
      feed.stop();
    },
  };
};
