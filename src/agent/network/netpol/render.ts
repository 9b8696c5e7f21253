// The node's NetworkPolicy rules as one nft script: the table `inet skiff-netpol`, replaced whole in
// one transaction. It sees pod traffic where Service DNAT has already happened (forward, and input
// for what pods send to the node itself, such as cluster DNS): a new connection from an isolated pod
// of this node goes through that pod's egress chain, one to an isolated pod of this node through its
// ingress chain; a chain returns at the first rule that allows the connection and drops it at the
// end. Replies and related packets of allowed connections pass. The node's own traffic to its pods
// (probes, port-forward) is not filtered, as with kube-router and Calico.
// Pure: the same model always gives the same text.
import { createHash } from 'node:crypto';
import type { AllowRule, IsolatedPod, PeerMatch, PortMatch, Protocol } from './model.js';

export const TABLE = 'skiff-netpol';
export const FAMILY = 'inet';

export interface NftSet {
  kind: 'set' | 'map';
  decl: string[];
  elements: string[];
}
export interface PolicyTable {
  sets: Map<string, NftSet>;
  chains: Map<string, string[]>;
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** `80`, `8000-8080`, merged where ranges overlap or touch. */
function portElements(ports: PortMatch[]): string[] {
  const ranges = ports.map((p) => [p.from!, p.to!] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([...r]);
  }
  return merged.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`));
}

/** One match per protocol: `meta l4proto tcp th dport { 80, 443 }`, or the whole protocol. */
function portMatches(ports: PortMatch[] | undefined): string[] {
  if (ports === undefined) return [''];
  const out: string[] = [];
  for (const proto of ['tcp', 'udp', 'sctp'] as Protocol[]) {
    const mine = ports.filter((p) => p.protocol === proto);
    if (!mine.length) continue;
    if (mine.some((p) => p.from === undefined)) {
      out.push(`meta l4proto ${proto}`);
      continue;
    }
    const els = portElements(mine);
    out.push(`meta l4proto ${proto} th dport ${els.length === 1 ? els[0] : `{ ${els.join(', ')} }`}`);
  }
  return out;
}

class Sets {
  readonly sets = new Map<string, NftSet>();
  /** A named set of these elements (one per distinct content). */
  named(prefix: string, type: string, elements: string[]): string {
    const name = `${prefix}-${hash(`${type}\n${elements.join('\n')}`)}`;
    if (!this.sets.has(name)) this.sets.set(name, { kind: 'set', decl: [`type ${type}`], elements });
    return name;
  }
}

function peerMatch(peer: PeerMatch, addr: 'saddr' | 'daddr', sets: Sets): string {
  switch (peer.kind) {
    case 'any':
      return '';
    case 'pods':
      return `ip ${addr} @${sets.named('peers', 'ipv4_addr', peer.ips)}`;
    case 'block': {
      const except = peer.except.length ? ` ip ${addr} != { ${peer.except.join(', ')} }` : '';
      return `ip ${addr} ${peer.cidr}${except}`;
    }
  }
}

const comment = (policy: string) => `comment ${JSON.stringify(policy.slice(0, 120))}`;

function chainRules(rules: AllowRule[], addr: 'saddr' | 'daddr', sets: Sets): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    for (const peer of rule.peers)
      for (const ports of portMatches(rule.ports)) {
        const parts = [peerMatch(peer, addr, sets), ports].filter((p) => p !== '');
        out.push([...parts, 'return', comment(rule.policy)].join(' '));
      }
    if (rule.destinations.length) {
      const set = sets.named(
        'destinations',
        'ipv4_addr . inet_proto . inet_service',
        rule.destinations.map((d) => `${d.ip} . ${d.protocol} . ${d.port}`),
      );
      out.push(`ip daddr . meta l4proto . th dport @${set} return ${comment(rule.policy)}`);
    }
  }
  // Rules equal to one before them add nothing (two policies allowing the same traffic).
  return [...new Set(out), 'drop'];
}

export function renderTable(pods: IsolatedPod[]): PolicyTable {
  const sets = new Sets();
  const chains = new Map<string, string[]>();
  const ingress: string[] = [];
  const egress: string[] = [];
  const base = (hook: string) => `type filter hook ${hook} priority filter; policy accept;`;
  chains.set('forward', [
    base('forward'),
    'ct state established,related accept',
    'ip saddr vmap @egress-pods',
    'ip daddr vmap @ingress-pods',
  ]);
  chains.set('input', [base('input'), 'ct state established,related accept', 'ip saddr vmap @egress-pods']);
  for (const pod of pods) {
    if (pod.ingress) {
      chains.set(`ingress-${pod.ip}`, chainRules(pod.ingress, 'saddr', sets));
      ingress.push(`${pod.ip} : jump ingress-${pod.ip}`);
    }
    if (pod.egress) {
      chains.set(`egress-${pod.ip}`, chainRules(pod.egress, 'daddr', sets));
      egress.push(`${pod.ip} : jump egress-${pod.ip}`);
    }
  }
  const all = new Map<string, NftSet>([
    ['ingress-pods', { kind: 'map', decl: ['type ipv4_addr : verdict'], elements: ingress }],
    ['egress-pods', { kind: 'map', decl: ['type ipv4_addr : verdict'], elements: egress }],
    ...sets.sets,
  ]);
  return { sets: all, chains };
}

function setText(name: string, set: NftSet): string {
  const out = [`\t${set.kind} ${name} {`, ...set.decl.map((d) => `\t\t${d}`)];
  if (set.elements.length) out.push(`\t\telements = {\n\t\t\t${set.elements.join(',\n\t\t\t')}\n\t\t}`);
  out.push('\t}');
  return out.join('\n');
}

/** The script that replaces the whole table in one transaction (declaring it first makes the delete safe). */
export function fullScript(table: PolicyTable): string {
  const t = `${FAMILY} ${TABLE}`;
  return [
    `table ${t}`,
    `delete table ${t}`,
    `table ${t} {`,
    ...[...table.sets].map(([name, set]) => setText(name, set)),
    ...[...table.chains].map(([name, rules]) => `\tchain ${name} {\n${rules.map((r) => `\t\t${r}\n`).join('')}\t}`),
    '}',
    '',
  ].join('\n');
}

/** The script for these pods (see renderTable). */
export const renderRules = (pods: IsolatedPod[]) => fullScript(renderTable(pods));
