// The interface the pod network runs over (flannel's "external interface"): --flannel-iface, or the
// one holding --node-ip; its MTU (the pods' MTU follows from it) and the address the other nodes
// send to. Pure over `ip -j -4 addr show`, so the choices are unit tests.
import { type Cidr, containsIP, parseCidr } from './cidr.js';
import type { LinkAddresses } from './kernel.js';

export interface Uplink {
  iface: string;
  mtu: number;
  /** Where the other nodes reach this one: --node-ip when the interface holds it, else its first address. */
  publicIP: string;
  /** The interface's connected subnets: the nodes reachable without a router (host-gw). */
  subnets: Cidr[];
}

/** Bytes VXLAN adds to every packet (outer Ethernet, IP, UDP and VXLAN headers), as flannel counts them. */
export const VXLAN_OVERHEAD = 50;

export function chooseUplink(links: LinkAddresses[], nodeIP: string, flannelIface?: string): Uplink {
  const v4 = (l: LinkAddresses) => (l.addr_info ?? []).filter((a) => a.family === undefined || a.family === 'inet');
  const link = flannelIface ? links.find((l) => l.ifname === flannelIface) : links.find((l) => v4(l).some((a) => a.local === nodeIP));
  if (!link) {
    throw new Error(
      flannelIface
        ? `--flannel-iface ${flannelIface}: no such interface with an IPv4 address`
        : `no interface holds the node IP ${nodeIP}: give --node-ip an address of this machine, or --flannel-iface`,
    );
  }
  const addrs = v4(link);
  const publicIP = addrs.some((a) => a.local === nodeIP) ? nodeIP : addrs[0]?.local;
  if (!publicIP) throw new Error(`--flannel-iface ${link.ifname} has no IPv4 address`);
  return {
    iface: link.ifname,
    mtu: link.mtu,
    publicIP,
    subnets: addrs.map((a) => parseCidr(`${a.local}/${a.prefixlen}`)!).filter((c) => c.bits < 32),
  };
}

export const onSegment = (u: Uplink, ip: string) => u.subnets.some((s) => containsIP(s, ip));

/** The MTU pods get: the uplink's, less the tunnel's overhead under vxlan. */
export const podMTU = (u: Uplink, backend: 'vxlan' | 'host-gw') => (backend === 'vxlan' ? u.mtu - VXLAN_OVERHEAD : u.mtu);
