// The CNI network an agent writes for containerd once the server has given its node a pod range:
// a bridge with host-local addresses from that range, the host as gateway, masquerading for traffic
// leaving the node, and portmap for hostPort (Debian's containernetworking-plugins).
import fs from 'node:fs';
import path from 'node:path';

export interface CniNetwork {
  /** The node's spec.podCIDR. */
  podCIDR: string;
  /** Linux bridge name (at most 15 characters); K3s calls its own cni0. */
  bridge?: string;
  name?: string;
  /** Where host-local keeps its address leases. */
  ipamDataDir: string;
  /** Masquerade traffic from pods to the outside (off for isolated test networks, and when the pod network's rules do it). */
  ipMasq?: boolean;
  /** The pods' MTU (the pod network's: under vxlan the uplink's less the tunnel's 50 bytes); the kernel's default without. */
  mtu?: number;
}

export function cniConflist(n: CniNetwork): object {
  return {
    cniVersion: '0.4.0',
    name: n.name ?? 'skiff',
    plugins: [
      {
        type: 'bridge',
        bridge: n.bridge ?? 'cni0',
        isGateway: true,
        ipMasq: n.ipMasq ?? true,
        hairpinMode: true,
        ...(n.mtu ? { mtu: n.mtu } : {}),
        ipam: { type: 'host-local', ranges: [[{ subnet: n.podCIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: n.ipamDataDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

const CONFLIST = '10-skiff.conflist';

/** Writes the conflist where containerd's CRI plugin reads it (first file by name wins). */
export function writeCniConfig(confDir: string, n: CniNetwork): string {
  fs.mkdirSync(confDir, { recursive: true });
  const file = path.join(confDir, CONFLIST);
  fs.writeFileSync(file, `${JSON.stringify(cniConflist(n), null, 2)}\n`);
  return file;
}

/** Removes the agent's own conflist (--flannel-backend none: the user's CNI writes the one containerd reads). */
export function removeCniConfig(confDir: string): boolean {
  const file = path.join(confDir, CONFLIST);
  if (!fs.existsSync(file)) return false;
  fs.rmSync(file);
  return true;
}
