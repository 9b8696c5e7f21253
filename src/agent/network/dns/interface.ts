// The cluster DNS address, made local on this node as NodeLocal DNSCache does: an interface of its
// own (skiff-dns) holding <cluster-dns>/32, so a pod's lookup goes to its own node's server and never
// crosses the network. The interface is a dummy one; on kernels built without the dummy driver
// (some VM and board kernels), an empty bridge, which holds a local address just as well and which
// every node running pods has (cni0 is one). It stays when the agent stops (a restarted agent takes
// it over); it goes with `--disable coredns` (so a DNS server of the user's own can have the
// address) and with uninstalling.
import { log } from '../../../log.js';
import { ip, IpError, ipJson } from '../ip.js';

export const DNS_LINK = 'skiff-dns';

interface Link {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** Creates (or takes over) the interface with exactly `address`/32 on it, up. */
export async function ensureDnsInterface(address: string): Promise<void> {
  let link = (await ipJson<Link[]>('addr', 'show')).find((l) => l.ifname === DNS_LINK);
  if (!link) {
    try {
      await ip('link', 'add', DNS_LINK, 'type', 'dummy');
    } catch (err) {
      if (!(err instanceof IpError && /Unknown device type/i.test(err.message))) throw err;
      log.info({ link: DNS_LINK }, 'cluster DNS: no dummy interfaces in this kernel, an empty bridge holds the address');
      await ip('link', 'add', DNS_LINK, 'type', 'bridge');
    }
    link = { ifname: DNS_LINK, addr_info: [] };
  }
  for (const a of link.addr_info ?? [])
    if (a.family === 'inet' && !(a.local === address && a.prefixlen === 32))
      await ip('addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', DNS_LINK);
  await ip('addr', 'replace', `${address}/32`, 'dev', DNS_LINK);
  await ip('link', 'set', DNS_LINK, 'up');
}

/** Removes the interface, if there is one. */
export async function removeDnsInterface(): Promise<void> {
  const links = await ipJson<Link[]>('link', 'show');
  if (links.some((l) => l.ifname === DNS_LINK)) await ip('link', 'delete', DNS_LINK);
}
