// What NetworkPolicy asks of this node, as data: for each pod on it that a policy isolates, the
// traffic each direction allows, with selectors resolved to addresses and named ports to numbers
// (an ingress rule's on the pod itself, an egress rule's on each destination pod). Pure: informer
// contents in, the same model out for the same contents.
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from 'kubernetes-types/networking/v1.js';
import { type Selector, fromLabelSelector, matches } from '../../../k8s/selectors.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface PolicyNode {
  nodeName: string;
  /**
   * The cluster DNS address this node answers at itself (no CoreDNS pod): policies see it as a pod
   * of kube-system labelled k8s-app=kube-dns with CoreDNS's ports, so the usual "allow DNS" egress
   * rule works as on K3s. Undefined when cluster DNS is off.
   */
  clusterDNS?: string;
}

/** A pod as policies see it. */
export interface PodEndpoint {
  namespace: string;
  name: string;
  ip: string;
  labels: Record<string, string>;
  nodeName?: string;
  /** Its containers' named ports. */
  ports: { name: string; protocol: Protocol; port: number }[];
}

/** Ports of one protocol: all of them, one, or a range. */
export interface PortMatch {
  protocol: Protocol;
  from?: number;
  to?: number;
}

/** Who is on the other end: anyone, these pods, or a CIDR less its exceptions. */
export type PeerMatch = { kind: 'any' } | { kind: 'pods'; ips: string[] } | { kind: 'block'; cidr: string; except: string[] };

/** One way a policy lets traffic through: (any of `peers` on any of `ports`) or any of `destinations`. */
export interface AllowRule {
  /** `<namespace>/<policy>`, for the rule's comment. */
  policy: string;
  peers: PeerMatch[];
  /** Undefined: every port. Empty with no peers' ports left (named ports nobody has): nothing. */
  ports?: PortMatch[];
  /** Egress named ports: exact destinations (pod address, protocol, port). */
  destinations: { ip: string; protocol: Protocol; port: number }[];
}

export interface IsolatedPod {
  namespace: string;
  name: string;
  ip: string;
  /** Undefined: no policy isolates it for ingress. Empty: isolated, nothing allowed. */
  ingress?: AllowRule[];
  egress?: AllowRule[];
}

const PROTOCOLS: Record<string, Protocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
const DNS_LABELS = { 'k8s-app': 'kube-dns' };

/** A selector that matches nothing when it says something this code does not understand (fail closed). */
function selector(sel: LabelSelector | undefined | null): Selector | 'none' | undefined {
  if (sel === undefined || sel === null) return undefined;
  if (typeof sel !== 'object') return 'none';
  const ops = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);
  if ((sel.matchExpressions ?? []).some((e) => !ops.has(e?.operator))) return 'none';
  return fromLabelSelector(sel);
}
const selects = (s: Selector | 'none' | undefined, labels: Record<string, string>) => s !== 'none' && s !== undefined && matches(s, labels);

/** The pods policies can see: those with an address of their own (not host network), not finished. */
export function podEndpoints(pods: Pod[], node: PolicyNode): PodEndpoint[] {
  const out: PodEndpoint[] = [];
  for (const p of pods) {
    const ip = p.status?.podIP;
    if (!ip?.includes('.') || p.spec?.hostNetwork) continue;
    if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const ports: PodEndpoint['ports'] = [];
    for (const c of [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])])
      for (const port of c.ports ?? [])
        if (port.name && Number.isInteger(port.containerPort))
          ports.push({ name: port.name, protocol: PROTOCOLS[port.protocol ?? 'TCP'] ?? 'tcp', port: port.containerPort });
    out.push({
      namespace: p.metadata?.namespace ?? '',
      name: p.metadata?.name ?? '',
      ip,
      labels: p.metadata?.labels ?? {},
      nodeName: p.spec?.nodeName,
      ports,
    });
  }
  if (node.clusterDNS)
    out.push({
      namespace: 'kube-system',
      name: 'cluster-dns',
      ip: node.clusterDNS,
      labels: DNS_LABELS,
      ports: [
        { name: 'dns', protocol: 'udp', port: 53 },
        { name: 'dns-tcp', protocol: 'tcp', port: 53 },
      ],
    });
  return out;
}

/** The address and prefix of an IPv4 CIDR, the host bits cleared; undefined for anything else (IPv6). */
export function canonicalCidr(cidr: unknown): string | undefined {
  if (typeof cidr !== 'string') return undefined;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const n = octets.reduce((a, o) => a * 256 + o, 0);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const base = (n & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (base >>> s) & 255).join('.')}/${bits}`;
}

const range = (cidr: string): [number, number] => {
  const [ip, bits] = cidr.split('/') as [string, string];
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  return [n, n + 2 ** (32 - Number(bits)) - 1];
};

/** Exceptions inside the block, none inside another (nft refuses overlapping elements). */
function exceptions(cidr: string, except: unknown): string[] {
  const [lo, hi] = range(cidr);
  const within = (Array.isArray(except) ? except : [])
    .map(canonicalCidr)
    .filter((c): c is string => c !== undefined)
    .filter((c) => {
      const [a, b] = range(c);
      return a >= lo && b <= hi;
    });
  const unique = [...new Set(within)].sort((x, y) => range(x)[0] - range(y)[0] || range(y)[1] - range(x)[1]);
  const out: string[] = [];
  for (const c of unique) {
    const last = out.at(-1);
    if (last && range(c)[1] <= range(last)[1]) continue;
    out.push(c);
  }
  return out;
}

interface Scope {
  namespaceLabels: Map<string, Record<string, string>>;
  endpoints: PodEndpoint[];
}

/** The pods a peer entry selects (undefined: the entry is an ipBlock, or selects nothing it can express). */
function peerPods(peer: NetworkPolicyPeer, policyNamespace: string, scope: Scope): PodEndpoint[] {
  const podSel = selector(peer.podSelector);
  const nsSel = selector(peer.namespaceSelector);
  if (podSel === 'none' || nsSel === 'none') return [];
  return scope.endpoints.filter((ep) => {
    const inNamespace =
      nsSel === undefined ? ep.namespace === policyNamespace : selects(nsSel, scope.namespaceLabels.get(ep.namespace) ?? {});
    return inNamespace && (podSel === undefined || selects(podSel, ep.labels));
  });
}

interface PortSpec {
  protocol: Protocol;
  port?: number | string;
  endPort?: number;
}

/** A policy's port entries; an entry that cannot be understood matches nothing. */
function portSpecs(ports: NetworkPolicyPort[] | undefined): PortSpec[] | undefined {
  if (!Array.isArray(ports) || ports.length === 0) return undefined;
  const out: PortSpec[] = [];
  for (const p of ports) {
    if (!p || typeof p !== 'object') continue;
    const protocol = PROTOCOLS[p.protocol ?? 'TCP'];
    if (!protocol) continue;
    const port = p.port as number | string | undefined;
    if (port !== undefined && !(typeof port === 'string' ? port !== '' : Number.isInteger(port) && port >= 1 && port <= 65535)) continue;
    const endPort =
      typeof port === 'number' && Number.isInteger(p.endPort) && p.endPort! >= port && p.endPort! <= 65535 ? p.endPort : undefined;
    out.push({ protocol, port, endPort });
  }
  return out;
}

/** Numeric port matches; named ports resolved on `target` (an ingress rule's pod), or dropped without one. */
function numericPorts(specs: PortSpec[], target?: PodEndpoint): PortMatch[] {
  const out: PortMatch[] = [];
  for (const s of specs) {
    if (s.port === undefined) out.push({ protocol: s.protocol });
    else if (typeof s.port === 'number') out.push({ protocol: s.protocol, from: s.port, to: s.endPort ?? s.port });
    else
      for (const named of target?.ports ?? [])
        if (named.name === s.port && named.protocol === s.protocol) out.push({ protocol: s.protocol, from: named.port, to: named.port });
  }
  return out;
}

type Direction = 'ingress' | 'egress';

function policyTypes(policy: NetworkPolicy): Set<Direction> {
  const given = policy.spec?.policyTypes;
  if (Array.isArray(given) && given.length > 0) {
    const out = new Set<Direction>();
    if (given.includes('Ingress')) out.add('ingress');
    if (given.includes('Egress')) out.add('egress');
    return out;
  }
  const types = new Set<Direction>(['ingress']);
  if (Array.isArray(policy.spec?.egress) && policy.spec.egress.length > 0) types.add('egress');
  return types;
}

/** The allow rules one policy gives `pod` in one direction. */
function allowRules(policy: NetworkPolicy, dir: Direction, pod: PodEndpoint, scope: Scope): AllowRule[] {
  const namespace = policy.metadata?.namespace ?? '';
  const name = `${namespace}/${policy.metadata?.name ?? ''}`;
  const rules = (dir === 'ingress' ? policy.spec?.ingress : policy.spec?.egress) ?? [];
  const out: AllowRule[] = [];
  for (const rule of Array.isArray(rules) ? rules : []) {
    if (!rule || typeof rule !== 'object') continue;
    const peersGiven =
      (dir === 'ingress' ? (rule as { from?: NetworkPolicyPeer[] }).from : (rule as { to?: NetworkPolicyPeer[] }).to) ?? [];
    const peerList = Array.isArray(peersGiven) ? peersGiven.filter((p) => p && typeof p === 'object') : [];
    const specs = portSpecs(rule.ports);
    const peers: PeerMatch[] = [];
    const peerEndpoints: PodEndpoint[] = [];
    if (peerList.length === 0) peers.push({ kind: 'any' });
    for (const peer of peerList) {
      if (peer.ipBlock) {
        const cidr = canonicalCidr(peer.ipBlock.cidr);
        if (cidr) peers.push({ kind: 'block', cidr, except: exceptions(cidr, peer.ipBlock.except) });
        continue;
      }
      if (peer.podSelector === undefined && peer.namespaceSelector === undefined) continue;
      const selected = peerPods(peer, namespace, scope);
      peerEndpoints.push(...selected);
      if (selected.length) peers.push({ kind: 'pods', ips: [...new Set(selected.map((e) => e.ip))].sort() });
    }
    if (!specs) {
      if (peers.length) out.push({ policy: name, peers, destinations: [] });
      continue;
    }
    // Ingress: named ports are the selected pod's own. Egress: each destination pod's.
    const ports = numericPorts(
      specs.filter((s) => dir === 'ingress' || typeof s.port !== 'string'),
      pod,
    );
    const destinations: AllowRule['destinations'] = [];
    if (dir === 'egress') {
      const named = specs.filter((s) => typeof s.port === 'string');
      const anyone = peerList.length === 0;
      const candidates = anyone ? scope.endpoints : peerEndpoints;
      for (const s of named)
        for (const ep of candidates)
          for (const p of ep.ports)
            if (p.name === s.port && p.protocol === s.protocol) destinations.push({ ip: ep.ip, protocol: p.protocol, port: p.port });
    }
    const keep = ports.length > 0 && peers.length > 0;
    if (keep || destinations.length)
      out.push({ policy: name, peers: keep ? peers : [], ports, destinations: uniqueDestinations(destinations) });
  }
  return out;
}

function uniqueDestinations(ds: AllowRule['destinations']): AllowRule['destinations'] {
  const seen = new Map(ds.map((d) => [`${d.ip} . ${d.protocol} . ${d.port}`, d]));
  return [...seen.keys()].sort().map((k) => seen.get(k)!);
}

/**
 * The pods of this node that policies isolate, in a stable order, each with what every policy that
 * selects it allows (traffic is allowed when any of them allows it).
 */
export function isolatedPods(policies: NetworkPolicy[], pods: Pod[], namespaces: Namespace[], node: PolicyNode): IsolatedPod[] {
  const scope: Scope = {
    namespaceLabels: new Map(namespaces.map((ns) => [ns.metadata?.name ?? '', ns.metadata?.labels ?? {}])),
    endpoints: podEndpoints(pods, node),
  };
  const local = scope.endpoints.filter((ep) => ep.nodeName === node.nodeName);
  const byNamespace = new Map<string, NetworkPolicy[]>();
  for (const p of [...policies].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))) {
    const ns = p.metadata?.namespace ?? '';
    byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), p]);
  }
  const out: IsolatedPod[] = [];
  const seenIPs = new Set<string>();
  for (const pod of local.sort((a, b) => a.ip.localeCompare(b.ip))) {
    if (seenIPs.has(pod.ip)) continue; // an address still held by a pod being replaced: the first one decides
    seenIPs.add(pod.ip);
    const entry: IsolatedPod = { namespace: pod.namespace, name: pod.name, ip: pod.ip };
    for (const policy of byNamespace.get(pod.namespace) ?? []) {
      const podSel = selector(policy.spec?.podSelector ?? {});
      if (!selects(podSel, pod.labels)) continue;
      for (const dir of policyTypes(policy)) entry[dir] = [...(entry[dir] ?? []), ...allowRules(policy, dir, pod, scope)];
    }
    if (entry.ingress || entry.egress) out.push(entry);
  }
  return out;
}
