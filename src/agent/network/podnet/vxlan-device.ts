// The VTEP, as flannel's vxlan backend makes it: a kernel vxlan device `flannel.1` (VNI 1, UDP 8472,
// `local <node IP>`, `dev <uplink>`, no learning: the agent writes every FDB and neighbour entry
// itself), MTU the uplink's less 50. A device that is already there with matching settings is kept
// as it is, so its MAC (which the other nodes have in their neighbour and FDB entries) survives agent
// restarts; one that does not match is replaced. A new device takes the MAC the node published
// before, when there is one (flannel reads its stored MAC back the same way).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { ip, ipJson } from '../ip.js';
import { VXLAN_DEVICE, VXLAN_PORT, VXLAN_VNI } from './flannel-annotations.js';

export interface VtepSpec {
  uplink: string;
  local: string;
  mtu: number;
  /** The MAC to create the device with (the one published before), if any. */
  mac?: string;
}

/** `ip -d -j link show flannel.1`, the fields read here. */
export interface VxlanLink {
  ifname: string;
  address: string;
  mtu: number;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; link?: string; port?: number; learning?: boolean } };
}

/** Why an existing device cannot serve as the VTEP, or '' when it can (flannel's vxlanLinksIncompat, plus learning). */
export function vxlanIncompatibility(link: VxlanLink, want: VtepSpec): string {
  const kind = link.linkinfo?.info_kind;
  if (kind !== 'vxlan') return `it is a ${kind ?? 'plain'} device, not vxlan`;
  const d = link.linkinfo?.info_data ?? {};
  if (d.id !== VXLAN_VNI) return `VNI ${d.id} instead of ${VXLAN_VNI}`;
  if (d.local !== want.local) return `local address ${d.local ?? 'none'} instead of ${want.local}`;
  if (d.link && d.link !== want.uplink) return `uplink ${d.link} instead of ${want.uplink}`;
  if (d.port !== VXLAN_PORT) return `UDP port ${d.port} instead of ${VXLAN_PORT}`;
  if (d.learning) return 'address learning on';
  return '';
}

/** A random locally administered unicast MAC, as flannel's mac.NewHardwareAddr. */
export function randomMAC(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function vxlanAddArgs(want: VtepSpec, mac: string): string[] {
  return [
    ...['link', 'add', VXLAN_DEVICE, 'address', mac, 'mtu', String(want.mtu), 'type', 'vxlan', 'id', String(VXLAN_VNI)],
    ...['local', want.local, 'dev', want.uplink, 'dstport', String(VXLAN_PORT), 'nolearning'],
  ];
}

export async function readVtep(): Promise<VxlanLink | undefined> {
  try {
    return (await ipJson<VxlanLink[]>('-d', 'link', 'show', 'dev', VXLAN_DEVICE))[0];
  } catch {
    return undefined;
  }
}

/** Makes sure the VTEP is there, matching and up; answers its MAC and what was done (for the log). */
export async function ensureVtep(want: VtepSpec): Promise<{ mac: string; action: 'kept' | 'created' | 'recreated'; why?: string }> {
  const have = await readVtep();
  const why = have ? vxlanIncompatibility(have, want) : undefined;
  let action: 'kept' | 'created' | 'recreated' = 'kept';
  if (have && why) {
    await ip('link', 'delete', VXLAN_DEVICE);
    action = 'recreated';
  } else if (!have) action = 'created';
  if (action !== 'kept') await ip(...vxlanAddArgs(want, want.mac ?? randomMAC()));
  const link = action === 'kept' ? have! : (await readVtep())!;
  if (link.mtu !== want.mtu) await ip('link', 'set', VXLAN_DEVICE, 'mtu', String(want.mtu));
  if (!link.flags?.includes('UP')) await ip('link', 'set', VXLAN_DEVICE, 'up');
  // flannel turns router advertisements off on its device; nothing is to be learnt there.
  const ra = `/proc/sys/net/ipv6/conf/${VXLAN_DEVICE}/accept_ra`;
  if (fs.existsSync(ra)) fs.writeFileSync(ra, '0');
  return { mac: link.address.toLowerCase(), action, why: why || undefined };
}

/** Removes the VTEP (a switch to another backend; its routes, neighbours and FDB entries go with it). */
export async function removeVtep(): Promise<boolean> {
  if (!(await readVtep())) return false;
  await ip('link', 'delete', VXLAN_DEVICE);
  return true;
}
