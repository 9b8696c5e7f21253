// What a node tells the others about its end of the pod network, in flannel's own Node annotations
// (flannel's kube subnet manager, pkg/subnet/kube): the backend, its data (for vxlan the VNI and the
// VTEP's MAC, `{"VNI":1,"VtepMAC":"..."}`; for host-gw `null`), the address the others send to, and
// `kube-subnet-manager: "true"`. Keeping flannel's keys and formats means the Node objects read the
// same as in a K3s cluster, and tools that know flannel's annotations understand them.
import type { Node } from 'kubernetes-types/core/v1.js';
import { isIPv4, parseCidr } from './cidr.js';

export const FLANNEL_PREFIX = 'flannel.alpha.coreos.com/';
export const BACKEND_TYPE = `${FLANNEL_PREFIX}backend-type`;
export const BACKEND_DATA = `${FLANNEL_PREFIX}backend-data`;
export const PUBLIC_IP = `${FLANNEL_PREFIX}public-ip`;
/** flannel: set by hand, it wins over the address the node found itself. */
export const PUBLIC_IP_OVERWRITE = `${FLANNEL_PREFIX}public-ip-overwrite`;
export const KUBE_SUBNET_MANAGER = `${FLANNEL_PREFIX}kube-subnet-manager`;

/** flannel's vxlan defaults: VNI 1 on the device `flannel.1`, the kernel's UDP port 8472. */
export const VXLAN_VNI = 1;
export const VXLAN_PORT = 8472;
export const VXLAN_DEVICE = `flannel.${VXLAN_VNI}`;

export type ActiveBackend = 'vxlan' | 'host-gw';

export interface OwnEnd {
  backend: ActiveBackend;
  publicIP: string;
  /** vxlan: the VTEP device's MAC. */
  vtepMAC?: string;
}

/** The annotations this node publishes; JSON as flannel marshals it (Go's field order, no spaces). */
export function flannelAnnotations(end: OwnEnd): Record<string, string> {
  const data = end.backend === 'vxlan' ? JSON.stringify({ VNI: VXLAN_VNI, VtepMAC: end.vtepMAC }) : 'null';
  return {
    [BACKEND_TYPE]: end.backend,
    [BACKEND_DATA]: data,
    [PUBLIC_IP]: end.publicIP,
    [KUBE_SUBNET_MANAGER]: 'true',
  };
}

/** The annotations of `want` that the node does not carry yet with that value (a merge patch's worth). */
export function annotationChanges(node: Node | undefined, want: Record<string, string>): Record<string, string> {
  const have = node?.metadata?.annotations ?? {};
  return Object.fromEntries(Object.entries(want).filter(([k, v]) => have[k] !== v));
}

/** Another node's end of the pod network, as flannel turns a Node into a lease. */
export interface NodeLease {
  name: string;
  podCIDR: string;
  publicIP: string;
  backend: string;
  /** vxlan only. */
  vtepMAC?: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A node's lease, or undefined while it has no IPv4 pod range or has not published its end yet. */
export function leaseOf(node: Node): NodeLease | undefined {
  const a = node.metadata?.annotations ?? {};
  if (a[KUBE_SUBNET_MANAGER] !== 'true') return undefined;
  const podCIDR = [node.spec?.podCIDR, ...(node.spec?.podCIDRs ?? [])].find((c) => parseCidr(c));
  const publicIP = a[PUBLIC_IP_OVERWRITE] || a[PUBLIC_IP];
  if (!podCIDR || !isIPv4(publicIP)) return undefined;
  const lease: NodeLease = { name: node.metadata!.name!, podCIDR, publicIP, backend: a[BACKEND_TYPE] ?? '' };
  if (lease.backend === 'vxlan') {
    const mac = vtepMACOf(a[BACKEND_DATA]);
    if (!mac) return undefined;
    lease.vtepMAC = mac;
  }
  return lease;
}

/** The VTEP MAC in vxlan backend data (flannel reads it back at start to keep its device's MAC). */
export function vtepMACOf(backendData: string | undefined): string | undefined {
  try {
    const mac = (JSON.parse(backendData ?? '') as { VtepMAC?: unknown } | null)?.VtepMAC;
    return typeof mac === 'string' && MAC.test(mac.toLowerCase()) ? mac.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}
