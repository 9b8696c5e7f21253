// What this node's Service rules are made of, as kube-proxy sees it: Services and EndpointSlices
// turned into one entry per service port, each with the endpoints this node may send its traffic to
// under the service's traffic policies. Pure data in, data out; the rules are rendered from it.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

/** What the rules need to know of this node and the cluster. */
export interface ProxyNode {
  nodeName: string;
  /** --cluster-cidr: traffic from it is from pods (no masquerade of ClusterIP traffic, short-circuit of Local policy). */
  clusterCIDR: string;
  /** --service-cidr: addresses of it that no Service holds are dropped, as upstream. */
  serviceCIDR: string;
  /** --cluster-dns: answered on every node itself, so no rule ever touches it. */
  clusterDNS: string;
}

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface ProxyEndpoint {
  ip: string;
  port: number;
  nodeName?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface ServicePort {
  /** `<namespace>/<name>/<protocol>/<port name>`, unique, and safe in nft names. */
  id: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  externalIPs: string[];
  /** status.loadBalancer.ingress IPs (the lead's controller puts the serving nodes there). */
  loadBalancerIPs: string[];
  /** sessionAffinity ClientIP: seconds a client sticks to its endpoint. */
  affinitySeconds?: number;
  internalLocal: boolean;
  externalLocal: boolean;
  /** Usable endpoints under policy Cluster (ready ones, or serving-terminating ones when none is ready). */
  clusterEndpoints: ProxyEndpoint[];
  /** Usable endpoints on this node, when a Local policy is in force (same fallback, among local ones). */
  localEndpoints: ProxyEndpoint[];
  /** Whether any usable endpoint exists anywhere: without one, traffic is rejected. */
  hasEndpoints: boolean;
}

/** Services the proxy leaves alone, as kube-proxy does (and the cluster DNS address, served locally). */
export function isProxied(svc: Service, node: ProxyNode): boolean {
  const spec = svc.spec;
  if (!spec || spec.type === 'ExternalName') return false;
  if (!spec.clusterIP || spec.clusterIP === 'None' || spec.clusterIP === node.clusterDNS) return false;
  if (svc.metadata?.labels?.['service.kubernetes.io/service-proxy-name'] !== undefined) return false;
  return spec.clusterIP.includes('.');
}

const DEFAULT_AFFINITY_SECONDS = 10800;

/** Endpoints of each service (`namespace/name`) from its slices, per slice port name and protocol. */
export type SliceIndex = Map<string, EndpointSlice[]>;

export function indexSlices(slices: Iterable<EndpointSlice>): SliceIndex {
  const index: SliceIndex = new Map();
  for (const s of slices) {
    const name = s.metadata?.labels?.['kubernetes.io/service-name'];
    if (!name || s.addressType !== 'IPv4') continue;
    const key = `${s.metadata?.namespace}/${name}`;
    const list = index.get(key);
    if (list) list.push(s);
    else index.set(key, [s]);
  }
  return index;
}

/** Every endpoint of the service's slices that serves this port (by port name and protocol), first address only, deduplicated. */
function endpointsFor(slices: EndpointSlice[], portName: string, protocol: string): ProxyEndpoint[] {
  const out = new Map<string, ProxyEndpoint>();
  for (const s of slices) {
    const port = s.ports?.find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol);
    if (!port?.port) continue;
    for (const e of s.endpoints ?? []) {
      const ip = e.addresses?.[0];
      if (!ip) continue;
      const key = `${ip}:${port.port}`;
      if (out.has(key)) continue;
      // The API's defaults: ready unknown is ready; serving unknown is as ready; terminating unknown is not.
      const ready = e.conditions?.ready ?? true;
      out.set(key, {
        ip,
        port: port.port,
        ...(e.nodeName ? { nodeName: e.nodeName } : {}),
        ready,
        serving: e.conditions?.serving ?? ready,
        terminating: e.conditions?.terminating ?? false,
      });
    }
  }
  return [...out.values()].sort(byAddress);
}

function byAddress(a: ProxyEndpoint, b: ProxyEndpoint): number {
  return a.ip === b.ip ? a.port - b.port : ipKey(a.ip) - ipKey(b.ip);
}

const ipKey = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);

/** Ready endpoints, or when there is none, the serving ones that are terminating (upstream's rule). */
function usable(eps: ProxyEndpoint[]): ProxyEndpoint[] {
  const ready = eps.filter((e) => e.ready);
  return ready.length ? ready : eps.filter((e) => e.serving && e.terminating);
}

/** The service ports to program, sorted by id (so the same objects always render the same rules). */
export function servicePorts(services: Iterable<Service>, slices: SliceIndex, node: ProxyNode): ServicePort[] {
  const out: ServicePort[] = [];
  for (const svc of services) {
    if (!isProxied(svc, node)) continue;
    const spec = svc.spec!;
    const ns = svc.metadata!.namespace!;
    const name = svc.metadata!.name!;
    const svcSlices = slices.get(`${ns}/${name}`) ?? [];
    const loadBalancerIPs =
      spec.type === 'LoadBalancer'
        ? (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip && i.ipMode !== 'Proxy').map((i) => i.ip!)
        : [];
    for (const p of spec.ports ?? []) {
      const protocol = (p.protocol ?? 'TCP').toLowerCase() as Protocol;
      const portName = p.name ?? '';
      const nodePort = (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && p.nodePort ? p.nodePort : undefined;
      const externalIPs = (spec.externalIPs ?? []).filter((ip) => ip.includes('.'));
      const externallyAccessible = nodePort !== undefined || loadBalancerIPs.length > 0 || externalIPs.length > 0;
      const internalLocal = spec.internalTrafficPolicy === 'Local';
      const externalLocal = externallyAccessible && spec.externalTrafficPolicy === 'Local';
      const all = endpointsFor(svcSlices, portName, p.protocol ?? 'TCP');
      // Cluster endpoints are needed even under external Local, for the short-circuit of pods and the host.
      const usesCluster = !internalLocal || externallyAccessible;
      const usesLocal = internalLocal || externalLocal;
      const clusterEndpoints = usesCluster ? usable(all) : [];
      const localEndpoints = usesLocal ? usable(all.filter((e) => e.nodeName === node.nodeName)) : [];
      const hasEndpoints = all.some((e) => e.ready || (e.serving && e.terminating));
      out.push({
        id: `${ns}/${name}/${protocol}/${portName}`,
        protocol,
        clusterIP: spec.clusterIP!,
        port: p.port,
        ...(nodePort ? { nodePort } : {}),
        externalIPs,
        loadBalancerIPs,
        ...(spec.sessionAffinity === 'ClientIP'
          ? { affinitySeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS }
          : {}),
        internalLocal,
        externalLocal,
        clusterEndpoints,
        localEndpoints,
        hasEndpoints,
      });
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
