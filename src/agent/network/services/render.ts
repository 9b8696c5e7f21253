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

/** The base chains: hooks and priorities as kube-proxy's (filter just before DNAT, NAT at dstnat/srcnat). */
function header(node: ProxyNode): string[] {
  const noLocalhost = 'ip daddr != 127.0.0.0/8';
  return [
    '\tchain filter-input {',
    '\t\ttype filter hook input priority -110; policy accept;',
    '\t\tct state new jump endpoints-check',
    '\t}',
    '\tchain filter-forward {',
    '\t\ttype filter hook forward priority -110; policy accept;',
    '\t\tct state new jump endpoints-check',
    '\t\tct state new jump cluster-ips-check',
    '\t}',
    '\tchain filter-output {',
    '\t\ttype filter hook output priority -110; policy accept;',
    '\t\tct state new jump endpoints-check',
    '\t}',
    '\tchain filter-output-post-dnat {',
    '\t\ttype filter hook output priority -90; policy accept;',
    '\t\tct state new jump cluster-ips-check',
    '\t}',
    '\tchain nat-prerouting {',
    '\t\ttype nat hook prerouting priority -100; policy accept;',
    '\t\tjump services',
    '\t}',
    '\tchain nat-output {',
    '\t\ttype nat hook output priority -100; policy accept;',
    '\t\tjump services',
    '\t}',
    '\tchain nat-postrouting {',
    '\t\ttype nat hook postrouting priority 100; policy accept;',
    '\t\tjump masquerading',
    '\t}',
    '\tchain services {',
    '\t\tip daddr . meta l4proto . th dport vmap @service-ips',
    `\t\tfib daddr type local ${noLocalhost} meta l4proto . th dport vmap @service-nodeports`,
    '\t}',
    // Services without (usable) endpoints: rejected (none anywhere) or dropped (none here under Local).
    '\tchain endpoints-check {',
    '\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services',
    `\t\tfib daddr type local ${noLocalhost} meta l4proto . th dport vmap @no-endpoint-nodeports`,
    '\t}',
    '\tchain reject-chain {',
    '\t\treject',
    '\t}',
    // After DNAT: a ClusterIP port no Service defines is refused, an address no Service holds dropped
    // (it would otherwise follow the default route out). The cluster DNS address is the node's own.
    '\tchain cluster-ips-check {',
    '\t\tip daddr @cluster-ips reject',
    `\t\tip daddr ${node.serviceCIDR} ip daddr != ${node.clusterDNS} drop`,
    '\t}',
    '\tchain mark-for-masquerade {',
    `\t\tmeta mark set meta mark or ${MASQUERADE_MARK}`,
    '\t}',
    '\tchain masquerading {',
    `\t\tmeta mark & ${MASQUERADE_MARK} == 0 return`,
    `\t\tmeta mark set meta mark xor ${MASQUERADE_MARK}`,
    '\t\tmasquerade fully-random',
    '\t}',
  ];
}

function block(kind: 'set' | 'map', name: string, type: string, elements: string[], extra: string[] = []): string[] {
  const out = [`\t${kind} ${name} {`, `\t\ttype ${type}`, ...extra.map((e) => `\t\t${e}`)];
  if (elements.length) out.push(`\t\telements = {\n\t\t\t${elements.join(',\n\t\t\t')}\n\t\t}`);
  out.push('\t}');
  return out;
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

function chain(name: string, rules: string[]): string {
  return `\tchain ${name} {\n${rules.map((r) => `\t\t${r}\n`).join('')}\t}`;
}

/**
 * The script that replaces the table with the rules for `ports`. `carry` re-seeds ClientIP affinity
 * sets that exist in both the old table and the new one, so clients keep their endpoints.
 */
export function renderRules(ports: ServicePort[], node: ProxyNode, carry: AffinityEntry[] = []): string {
  const clusterIPs: string[] = [];
  // A key may come twice (two LoadBalancers on one node address and port): the first service wins,
  // as a duplicate would fail the whole transaction.
  const serviceIPs = new Elements();
  const nodePorts = new Elements();
  const noEndpointServices = new Elements();
  const noEndpointNodePorts = new Elements();
  const chains: string[] = [];
  const sets: string[] = [];
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
      chains.push(chain(serviceChain(sp), [...first, ...dispatch(sp, sp.clusterEndpoints)]));
    }
    if (hasLocal) {
      const first = hasInternal && sp.internalLocal ? [masqueradeOffCluster] : [];
      chains.push(chain(localChain(sp), [...first, ...dispatch(sp, sp.localEndpoints)]));
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
      chains.push(chain(externalChain(sp), rules));
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
        sets.push(...block('set', name, 'ipv4_addr', seeds, ['flags dynamic,timeout', `timeout ${seconds}s`]));
      }
      rules.push(`meta l4proto ${proto} dnat to ${ep.ip}:${ep.port}`);
      chains.push(chain(endpointChain(sp, ep), rules));
    }
  }

  return [
    `table ip ${TABLE}`,
    `delete table ip ${TABLE}`,
    `table ip ${TABLE} {`,
    ...block('set', 'cluster-ips', 'ipv4_addr', clusterIPs),
    ...block('map', 'service-ips', 'ipv4_addr . inet_proto . inet_service : verdict', serviceIPs.list),
    ...block('map', 'service-nodeports', 'inet_proto . inet_service : verdict', nodePorts.list),
    ...block('map', 'no-endpoint-services', 'ipv4_addr . inet_proto . inet_service : verdict', noEndpointServices.list),
    ...block('map', 'no-endpoint-nodeports', 'inet_proto . inet_service : verdict', noEndpointNodePorts.list),
    ...sets,
    ...header(node),
    ...chains,
    '}',
    '',
  ].join('\n');
}
