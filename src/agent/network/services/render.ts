// The node's Service rules as one nft script: the whole `ip skiff-services` table deleted and made
// again in one transaction, so packets see either the old rules or the new ones, never a mix.
// The layout is kube-proxy's nftables mode: verdict maps from (address, protocol, port) to a chain
// per service port, so finding a service is one lookup however many there are; a chain per policy
// picks an endpoint at random (or the one a client is stuck to); a chain per endpoint DNATs.
// Pure: the same service ports always give the same text, so an unchanged cluster is not re-applied.
import type { ProxyEndpoint, ProxyNode, ServicePort } from './model.js';

export const TABLE = 'skiff-services';
/** The packet mark bit that asks for masquerading on the way out (kube-proxy's bit too). */
export const MASQUERADE_MARK = '0x4000';

/** An affinity set's element as read back from the kernel, to carry over a re-created table. */
export interface AffinityEntry {
  set: string;
  ip: string;
  /** Milliseconds left before the client's stickiness expires. */
  expiresMs: number;
}

const serviceChain = (sp: ServicePort) => `service-${sp.id}`;
const localChain = (sp: ServicePort) => `local-${sp.id}`;
const externalChain = (sp: ServicePort) => `external-${sp.id}`;
const endpointChain = (sp: ServicePort, ep: ProxyEndpoint) => `endpoint-${sp.id}__${ep.ip}/${ep.port}`;
export const affinitySet = (sp: ServicePort, ep: ProxyEndpoint) => `affinity-${sp.id}__${ep.ip}/${ep.port}`;
const key = (ip: string, sp: ServicePort, port: number) => `${ip} . ${sp.protocol} . ${port}`;

const REJECT = 'goto reject-chain';

/** One chain: its rules in order (a base chain's first line is its `type ... hook ...` statement). */
export type Chains = Map<string, string[]>;

/** A set or map: its declaration lines (type, flags, timeout) and elements (`key` or `key : value`). */
export interface NftSet {
  kind: 'set' | 'map';
  decl: string[];
  elements: string[];
}

/** The table as data: what the full script writes, and what an incremental update compares. */
export interface RuleTable {
  sets: Map<string, NftSet>;
  chains: Chains;
}

/** The base chains and fixed helpers: hooks and priorities as kube-proxy's (filter just before DNAT, NAT at dstnat/srcnat). */
function fixedChains(node: ProxyNode, chains: Chains): void {
  const noLocalhost = 'ip daddr != 127.0.0.0/8';
  const base = (hook: string, type: string, priority: number) => `type ${type} hook ${hook} priority ${priority}; policy accept;`;
  chains.set('filter-input', [base('input', 'filter', -110), 'ct state new jump endpoints-check']);
  chains.set('filter-forward', [
    base('forward', 'filter', -110),
    'ct state new jump endpoints-check',
    'ct state new jump cluster-ips-check',
  ]);
  chains.set('filter-output', [base('output', 'filter', -110), 'ct state new jump endpoints-check']);
  chains.set('filter-output-post-dnat', [base('output', 'filter', -90), 'ct state new jump cluster-ips-check']);
  chains.set('nat-prerouting', [base('prerouting', 'nat', -100), 'jump services']);
  chains.set('nat-output', [base('output', 'nat', -100), 'jump services']);
  chains.set('nat-postrouting', [base('postrouting', 'nat', 100), 'jump masquerading']);
  chains.set('services', [
    'ip daddr . meta l4proto . th dport vmap @service-ips',
    `fib daddr type local ${noLocalhost} meta l4proto . th dport vmap @service-nodeports`,
  ]);
  // Services without (usable) endpoints: rejected (none anywhere) or dropped (none here under Local).
  chains.set('endpoints-check', [
    'ip daddr . meta l4proto . th dport vmap @no-endpoint-services',
    `fib daddr type local ${noLocalhost} meta l4proto . th dport vmap @no-endpoint-nodeports`,
  ]);
  chains.set('reject-chain', ['reject']);
  // After DNAT: a ClusterIP port no Service defines is refused, an address no Service holds dropped
  // (it would otherwise follow the default route out). The cluster DNS address is the node's own.
  chains.set('cluster-ips-check', ['ip daddr @cluster-ips reject', `ip daddr ${node.serviceCIDR} ip daddr != ${node.clusterDNS} drop`]);
  chains.set('mark-for-masquerade', [`meta mark set meta mark or ${MASQUERADE_MARK}`]);
  chains.set('masquerading', [
    `meta mark & ${MASQUERADE_MARK} == 0 return`,
    `meta mark set meta mark xor ${MASQUERADE_MARK}`,
    'masquerade fully-random',
  ]);
}

function setText(name: string, set: NftSet): string {
  const out = [`\t${set.kind} ${name} {`, ...set.decl.map((d) => `\t\t${d}`)];
  if (set.elements.length) out.push(`\t\telements = {\n\t\t\t${set.elements.join(',\n\t\t\t')}\n\t\t}`);
  out.push('\t}');
  return out.join('\n');
}

function chainText(name: string, rules: string[]): string {
  return `\tchain ${name} {\n${rules.map((r) => `\t\t${r}\n`).join('')}\t}`;
}

/** The script that replaces the whole table in one transaction (declaring it first makes the delete safe). */
export function fullScript(table: RuleTable): string {
  return [
    `table ip ${TABLE}`,
    `delete table ip ${TABLE}`,
    `table ip ${TABLE} {`,
    ...[...table.sets].map(([name, set]) => setText(name, set)),
    ...[...table.chains].map(([name, rules]) => chainText(name, rules)),
    '}',
    '',
  ].join('\n');
}

/** Chooses among `eps`: a client's stuck endpoint first (ClientIP affinity), else one at random. */
function dispatch(sp: ServicePort, eps: ProxyEndpoint[]): string[] {
  const out: string[] = [];
  if (sp.affinitySeconds !== undefined) for (const ep of eps) out.push(`ip saddr @${affinitySet(sp, ep)} goto ${endpointChain(sp, ep)}`);
  out.push(`numgen random mod ${eps.length} vmap { ${eps.map((ep, i) => `${i} : goto ${endpointChain(sp, ep)}`).join(', ')} }`);
  return out;
}

class Elements {
  private readonly keys = new Set<string>();
  readonly list: string[] = [];
  add(key: string, value: string): void {
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.list.push(`${key} : ${value}`);
  }
}

/** The full script for `ports` (see renderTable). */
export function renderRules(ports: ServicePort[], node: ProxyNode, carry: AffinityEntry[] = []): string {
  return fullScript(renderTable(ports, node, carry));
}

/**
 * The table for `ports`. `carry` re-seeds ClientIP affinity sets that exist in both the old table and
 * the new one, for a full replace, so clients keep their endpoints.
 */
export function renderTable(ports: ServicePort[], node: ProxyNode, carry: AffinityEntry[] = []): RuleTable {
  const clusterIPs: string[] = [];
  // A key may come twice (two LoadBalancers on one node address and port): the first service wins,
  // as a duplicate would fail the whole transaction.
  const serviceIPs = new Elements();
  const nodePorts = new Elements();
  const noEndpointServices = new Elements();
  const noEndpointNodePorts = new Elements();
  const chains: Chains = new Map();
  const affinitySets: [string, NftSet][] = [];
  const carried = new Map<string, AffinityEntry[]>();
  for (const c of carry) {
    const list = carried.get(c.set);
    if (list) list.push(c);
    else carried.set(c.set, [c]);
  }
  const seenClusterIPs = new Set<string>();

  for (const sp of ports) {
    const proto = sp.protocol;
    const hasLocal = sp.localEndpoints.length > 0;
    const internalChain = sp.internalLocal ? localChain(sp) : serviceChain(sp);
    const hasInternal = sp.hasEndpoints && (!sp.internalLocal || hasLocal);
    const externalPolicyChain = sp.externalLocal ? localChain(sp) : serviceChain(sp);
    const hasExternal = sp.hasEndpoints && (!sp.externalLocal || hasLocal);
    const externallyAccessible = sp.nodePort !== undefined || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
    const usesExternalChain = sp.hasEndpoints && externallyAccessible;
    const internalFilter = !sp.hasEndpoints ? REJECT : 'drop';
    const externalFilter = !sp.hasEndpoints ? REJECT : 'drop';

    if (!seenClusterIPs.has(sp.clusterIP)) {
      seenClusterIPs.add(sp.clusterIP);
      clusterIPs.push(sp.clusterIP);
    }
    const clusterKey = key(sp.clusterIP, sp, sp.port);
    if (hasInternal) serviceIPs.add(clusterKey, `goto ${internalChain}`);
    else noEndpointServices.add(clusterKey, internalFilter);
    for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) {
      if (usesExternalChain) serviceIPs.add(key(ip, sp, sp.port), `goto ${externalChain(sp)}`);
      if (!hasExternal) noEndpointServices.add(key(ip, sp, sp.port), externalFilter);
    }
    if (sp.nodePort !== undefined) {
      if (usesExternalChain) nodePorts.add(`${proto} . ${sp.nodePort}`, `goto ${externalChain(sp)}`);
      if (!hasExternal) noEndpointNodePorts.add(`${proto} . ${sp.nodePort}`, externalFilter);
    }

    // ClusterIP traffic from outside the pod range (the host, other machines routed here) is
    // masqueraded, so that replies come back through this node to be un-DNATed.
    const toClusterIP = `ip daddr ${sp.clusterIP} ${proto} dport ${sp.port}`;
    const masqueradeOffCluster = `${toClusterIP} ip saddr != ${node.clusterCIDR} jump mark-for-masquerade`;
    if (sp.clusterEndpoints.length) {
      const first = hasInternal && !sp.internalLocal ? [masqueradeOffCluster] : [];
      chains.set(serviceChain(sp), [...first, ...dispatch(sp, sp.clusterEndpoints)]);
    }
    if (hasLocal) {
      const first = hasInternal && sp.internalLocal ? [masqueradeOffCluster] : [];
      chains.set(localChain(sp), [...first, ...dispatch(sp, sp.localEndpoints)]);
    }
    if (usesExternalChain) {
      const rules = sp.externalLocal
        ? [
            // Pods and the node itself are not "external": they may use any endpoint, as if they had
            // gone out to the load balancer and come back; the node's own traffic is masqueraded.
            `ip saddr ${node.clusterCIDR} goto ${serviceChain(sp)}`,
            'fib saddr type local jump mark-for-masquerade',
            `fib saddr type local goto ${serviceChain(sp)}`,
          ]
        : ['jump mark-for-masquerade'];
      if (hasExternal) rules.push(`goto ${externalPolicyChain}`);
      chains.set(externalChain(sp), rules);
    }

    const reachable = new Map<string, ProxyEndpoint>();
    for (const ep of [...sp.clusterEndpoints, ...sp.localEndpoints]) reachable.set(`${ep.ip}:${ep.port}`, ep);
    for (const ep of reachable.values()) {
      const rules = [`ip saddr ${ep.ip} jump mark-for-masquerade`];
      const seconds = sp.affinitySeconds;
      if (seconds !== undefined) {
        const name = affinitySet(sp, ep);
        rules.push(`update @${name} { ip saddr }`);
        const seeds = (carried.get(name) ?? [])
          .filter((c) => c.expiresMs > 0)
          .map((c) => `${c.ip} expires ${Math.min(c.expiresMs, seconds * 1000)}ms`);
        affinitySets.push([
          name,
          { kind: 'set', decl: ['type ipv4_addr', 'flags dynamic,timeout', `timeout ${seconds}s`], elements: seeds },
        ]);
      }
      rules.push(`meta l4proto ${proto} dnat to ${ep.ip}:${ep.port}`);
      chains.set(endpointChain(sp, ep), rules);
    }
  }

  const sets = new Map<string, NftSet>([
    ['cluster-ips', { kind: 'set', decl: ['type ipv4_addr'], elements: clusterIPs }],
    ['service-ips', { kind: 'map', decl: [`type ${ADDR_KEY} : verdict`], elements: serviceIPs.list }],
    ['service-nodeports', { kind: 'map', decl: [`type ${PORT_KEY} : verdict`], elements: nodePorts.list }],
    ['no-endpoint-services', { kind: 'map', decl: [`type ${ADDR_KEY} : verdict`], elements: noEndpointServices.list }],
    ['no-endpoint-nodeports', { kind: 'map', decl: [`type ${PORT_KEY} : verdict`], elements: noEndpointNodePorts.list }],
    ...affinitySets,
  ]);
  const all: Chains = new Map();
  fixedChains(node, all);
  for (const [name, rules] of chains) all.set(name, rules);
  return { sets, chains: all };
}

const ADDR_KEY = 'ipv4_addr . inet_proto . inet_service';
const PORT_KEY = 'inet_proto . inet_service';
