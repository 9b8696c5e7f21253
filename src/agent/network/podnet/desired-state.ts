// The pod network's kernel state as it should be, from the other nodes' leases, and the commands
// that take the kernel there from what it has now. Pure: no kernel, no API, so every case is a unit
// test. What it owns is what lies in the cluster range: routes with a gateway to a range inside it,
// the VTEP device's permanent neighbours and addresses there, and FDB entries no neighbour needs any
// more. Everything else on the machine is left alone (including a second cluster's entries, as two
// test clusters sharing one network namespace have).
import { type Cidr, formatCidr, networkAddress, parseCidr, within } from './cidr.js';
import { type ActiveBackend, type NodeLease, VXLAN_DEVICE } from './flannel-annotations.js';

export interface Route {
  dst: string;
  via: string;
  dev: string;
  onlink?: boolean;
}

export interface Neighbour {
  ip: string;
  mac: string;
}

export interface FdbEntry {
  mac: string;
  dst: string;
}

export interface Desired {
  routes: Route[];
  neighbours: Neighbour[];
  fdb: FdbEntry[];
  /** The VTEP device's own address (vxlan): `<pod range's network address>/32`. */
  vtepAddress?: string;
  /** Other nodes whose pods this node cannot reach, and why (logged and reported as events). */
  skipped: { node: string; reason: string }[];
}

export interface OwnNode {
  name: string;
  backend: ActiveBackend;
  clusterCIDR: string;
  podCIDR: string;
  /** host-gw: the interface toward the other nodes. */
  iface: string;
  /** host-gw: whether an address is on this node's own segment (reachable without a router). */
  onSegment?(ip: string): boolean;
}

/** Routes, neighbours and FDB entries for every other node's pod range, as flannel's backends set them. */
export function desiredState(own: OwnNode, leases: NodeLease[]): Desired {
  const cluster = parseCidr(own.clusterCIDR);
  const ownRange = parseCidr(own.podCIDR);
  if (!cluster || !ownRange) throw new Error(`bad cluster or pod range: ${own.clusterCIDR}, ${own.podCIDR}`);
  const d: Desired = { routes: [], neighbours: [], fdb: [], skipped: [] };
  if (own.backend === 'vxlan') d.vtepAddress = `${networkAddress(own.podCIDR)}/32`;
  const taken = new Set([formatCidr(ownRange)]);
  for (const lease of [...leases].sort((a, b) => a.name.localeCompare(b.name))) {
    if (lease.name === own.name) continue;
    const range = parseCidr(lease.podCIDR);
    const skip = (reason: string) => d.skipped.push({ node: lease.name, reason });
    if (!range || !within(lease.podCIDR, cluster)) {
      skip(`its pod range ${lease.podCIDR} is not inside the cluster range ${own.clusterCIDR}`);
      continue;
    }
    const dst = formatCidr(range);
    if (taken.has(dst)) {
      skip(`its pod range ${dst} is also another node's`);
      continue;
    }
    if (lease.backend !== own.backend) {
      skip(`it runs the ${lease.backend || 'unknown'} backend, this node ${own.backend}`);
      continue;
    }
    if (own.backend === 'host-gw' && own.onSegment && !own.onSegment(lease.publicIP)) {
      skip(`host-gw needs the nodes on one L2 segment, and ${lease.publicIP} is not on this node's (${own.iface}); use vxlan`);
      continue;
    }
    taken.add(dst);
    if (own.backend === 'vxlan') {
      const vtep = networkAddress(dst);
      d.neighbours.push({ ip: vtep, mac: lease.vtepMAC! });
      d.fdb.push({ mac: lease.vtepMAC!, dst: lease.publicIP });
      d.routes.push({ dst, via: vtep, dev: VXLAN_DEVICE, onlink: true });
    } else {
      d.routes.push({ dst, via: lease.publicIP, dev: own.iface });
    }
  }
  return d;
}

/** The kernel's state as `ip -j` and `bridge -j` print it (only the fields read here). */
export interface KernelState {
  /** `ip -j -4 route show table main` */
  routes: { dst: string; gateway?: string; dev?: string; flags?: string[] }[];
  /** `ip -j -4 neigh show dev flannel.1` (none without the device) */
  neighbours: { dst: string; lladdr?: string; state?: string[] }[];
  /** `bridge -j fdb show dev flannel.1` */
  fdb: { mac: string; dst?: string }[];
  /** flannel.1's IPv4 addresses, `a.b.c.d/len` */
  vtepAddresses: string[];
}

export interface Plan {
  /** `ip -batch` lines run first: stale routes, neighbours and addresses. */
  ipRemove: string[];
  /** `bridge -batch` lines: stale FDB entries out, missing ones in. */
  bridge: string[];
  /** `ip -batch` lines run last: addresses, neighbours, then routes (flannel's order). */
  ipAdd: string[];
}

const routeKey = (r: Route) => `${r.dst} ${r.via} ${r.dev} ${r.onlink ? 'onlink' : ''}`;
const routeLine = (verb: string, r: Route) => `route ${verb} ${r.dst} via ${r.via} dev ${r.dev}${r.onlink ? ' onlink' : ''}`;

/** The commands that turn `have` into `want`, touching nothing outside the cluster range. */
export function plan(clusterCIDR: string, want: Desired, have: KernelState): Plan {
  const cluster = parseCidr(clusterCIDR) as Cidr;
  const p: Plan = { ipRemove: [], bridge: [], ipAdd: [] };
  const dev = VXLAN_DEVICE;

  const wantRoutes = new Map(want.routes.map((r) => [routeKey(r), r]));
  const haveRoutes = new Set<string>();
  for (const r of have.routes) {
    if (!r.gateway || !r.dev || !within(r.dst, cluster)) continue;
    const dst = r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    const route = { dst, via: r.gateway, dev: r.dev, onlink: r.flags?.includes('onlink') };
    const key = routeKey(route);
    haveRoutes.add(key);
    // One that is wanted under the same destination is replaced below rather than removed.
    if (!wantRoutes.has(key) && !want.routes.some((w) => w.dst === dst)) p.ipRemove.push(routeLine('del', route));
  }

  const wantNeigh = new Map(want.neighbours.map((n) => [n.ip, n.mac]));
  const haveNeigh = new Map<string, string>();
  const keptMACs = new Set(want.neighbours.map((n) => n.mac));
  for (const n of have.neighbours) {
    if (!n.state?.includes('PERMANENT') || !n.lladdr) continue;
    if (!within(n.dst, cluster)) {
      keptMACs.add(n.lladdr.toLowerCase());
      continue;
    }
    haveNeigh.set(n.dst, n.lladdr.toLowerCase());
    if (!wantNeigh.has(n.dst)) p.ipRemove.push(`neigh del ${n.dst} dev ${dev}`);
  }

  for (const a of have.vtepAddresses) {
    if (within(a, cluster) && a !== want.vtepAddress) p.ipRemove.push(`address del ${a} dev ${dev}`);
  }
  if (want.vtepAddress && !have.vtepAddresses.includes(want.vtepAddress)) p.ipAdd.push(`address add ${want.vtepAddress} dev ${dev}`);

  const wantFdb = new Set(want.fdb.map((f) => `${f.mac} ${f.dst}`));
  const haveFdb = new Set<string>();
  for (const f of have.fdb) {
    if (!f.dst) continue;
    const mac = f.mac.toLowerCase();
    haveFdb.add(`${mac} ${f.dst}`);
    if (!wantFdb.has(`${mac} ${f.dst}`) && (!keptMACs.has(mac) || want.fdb.some((w) => w.mac === mac)))
      p.bridge.push(`fdb del ${mac} dev ${dev} dst ${f.dst} self`);
  }
  for (const f of want.fdb)
    if (!haveFdb.has(`${f.mac} ${f.dst}`)) p.bridge.push(`fdb append ${f.mac} dev ${dev} dst ${f.dst} self permanent`);

  for (const n of want.neighbours)
    if (haveNeigh.get(n.ip) !== n.mac) p.ipAdd.push(`neigh replace ${n.ip} lladdr ${n.mac} dev ${dev} nud permanent`);
  for (const [key, r] of wantRoutes) if (!haveRoutes.has(key)) p.ipAdd.push(routeLine('replace', r));
  return p;
}

export const isEmptyPlan = (p: Plan) => p.ipRemove.length + p.bridge.length + p.ipAdd.length === 0;
