// NetworkPolicy as data and as nft text: which pods of the node are isolated in which direction,
// what each policy lets through (pod and namespace selectors, both together, ipBlock with except,
// ports with numbers, names and ranges, policyTypes), the rules rendered from it, each script checked
// by the kernel's own parser (nft -c in a namespace of its own), and the loop that applies them.
import { execFileSync, spawnSync } from 'node:child_process';
import t, { type Test } from 'tap';
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { canonicalCidr, isolatedPods, type PolicyNode } from '../../../src/agent/network/netpol/model.js';
import { renderRules } from '../../../src/agent/network/netpol/render.js';
import { PolicyLoop } from '../../../src/agent/network/netpol/loop.js';

const NODE: PolicyNode = { nodeName: 'n1', clusterDNS: '10.43.0.10' };

function pod(ns: string, name: string, ip: string, labels: Record<string, string>, opts: { node?: string; ports?: object[] } = {}): Pod {
  return {
    metadata: { namespace: ns, name, labels },
    spec: { nodeName: opts.node ?? 'n1', containers: [{ name: 'c', image: 'x', ports: (opts.ports ?? []) as any }] },
    status: { phase: 'Running', podIP: ip },
  };
}
const ns = (name: string, labels: Record<string, string> = {}): Namespace => ({
  metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
});
const policy = (namespace: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({ metadata: { namespace, name }, spec });

const web = pod('default', 'web', '10.42.1.5', { app: 'web' }, { ports: [{ name: 'http', containerPort: 8080 }] });
const client = pod('default', 'client', '10.42.1.6', { role: 'client' });
const other = pod('default', 'other', '10.42.1.7', { role: 'other' });
const remote = pod('team', 'remote', '10.42.2.8', { role: 'client' }, { node: 'n2', ports: [{ name: 'http', containerPort: 9090 }] });
const remoteOther = pod('prod', 'p', '10.42.2.9', { role: 'client' }, { node: 'n2' });
const PODS = [web, client, other, remote, remoteOther];
const NAMESPACES = [ns('default'), ns('team', { team: 'a' }), ns('prod'), ns('kube-system')];

const model = (policies: NetworkPolicy[], pods = PODS, namespaces = NAMESPACES, node = NODE) =>
  isolatedPods(policies, pods, namespaces, node);

/** One chain's rules, trimmed. */
function chainOf(script: string, name: string): string[] | undefined {
  const start = script.indexOf(`\tchain ${name} {\n`);
  if (start < 0) return undefined;
  const end = script.indexOf('\n\t}', start);
  return script
    .slice(start, end)
    .split('\n')
    .slice(1)
    .map((l) => l.trim());
}
/** The elements of the set a rule names, in place of its name: rules read as what they match. */
function resolved(script: string, rules: string[] | undefined): string[] | undefined {
  return rules?.map((r) =>
    r.replace(/@((?:peers|destinations)-[0-9a-f]+)/g, (_m, name: string) => {
      const start = script.indexOf(`\tset ${name} {\n`);
      const body = script.slice(start, script.indexOf('\n\t}', start));
      const els =
        body
          .match(/elements = \{\n([\s\S]*?)\n\t\t\}/)?.[1]
          ?.split(',\n')
          .map((l) => l.trim()) ?? [];
      return `{ ${els.join(', ')} }`;
    }),
  );
}
const rulesOf = (script: string, chain: string) => resolved(script, chainOf(script, chain))?.map((r) => r.replace(/ comment "[^"]*"/, ''));

const asRoot = process.getuid?.() === 0;
const unshare = asRoot ? ['-n'] : ['-rn'];
const canCheck = spawnSync('unshare', [...unshare, 'nft', '--version']).status === 0;
function nftCheck(t: Test, script: string): void {
  if (!canCheck) {
    t.comment('not checked with nft -c: it needs nft and unshare -rn (unprivileged user namespaces) or root');
    return;
  }
  try {
    execFileSync('unshare', [...unshare, 'nft', '-c', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
    t.pass('nft accepts the script');
  } catch (err) {
    t.fail(`nft -c refused the script: ${(err as { stderr?: Buffer }).stderr?.toString()}\n${script}`);
  }
}

t.test('no policy: nothing isolated; the table has its hooks and empty maps', async (t) => {
  t.same(model([]), []);
  const s = renderRules([]);
  t.match(s, /^table inet skiff-netpol\ndelete table inet skiff-netpol\ntable inet skiff-netpol \{\n/, 'replaced in one transaction');
  t.same(chainOf(s, 'forward'), [
    'type filter hook forward priority filter; policy accept;',
    'ct state established,related accept',
    'ip saddr vmap @egress-pods',
    'ip daddr vmap @ingress-pods',
  ]);
  t.same(
    chainOf(s, 'input'),
    ['type filter hook input priority filter; policy accept;', 'ct state established,related accept', 'ip saddr vmap @egress-pods'],
    'what pods send to the node itself (cluster DNS) meets their egress rules',
  );
  nftCheck(t, s);
});

t.test('default deny ingress isolates every pod of the namespace on this node, and only for ingress', async (t) => {
  const m = model([policy('default', 'deny', { podSelector: {} })]);
  t.same(
    m.map((p) => [p.name, p.ingress, p.egress]),
    [
      ['web', [], undefined],
      ['client', [], undefined],
      ['other', [], undefined],
    ],
    'pods elsewhere (n2) and in other namespaces are not this node’s concern',
  );
  const s = renderRules(m);
  t.same(chainOf(s, 'ingress-10.42.1.5'), ['drop']);
  t.notOk(chainOf(s, 'egress-10.42.1.5'));
  t.match(s, /map ingress-pods \{\n\t\ttype ipv4_addr : verdict\n\t\telements = \{\n\t\t\t10\.42\.1\.5 : jump ingress-10\.42\.1\.5,/);
  nftCheck(t, s);
});

t.test('podSelector, namespaceSelector, both together, and ipBlock with except', async (t) => {
  const allow = policy('default', 'allow-web', {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [
      {
        from: [
          { podSelector: { matchLabels: { role: 'client' } } },
          { namespaceSelector: { matchLabels: { team: 'a' } } },
          { namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['client'] }] } },
          { ipBlock: { cidr: '192.168.1.77/16', except: ['192.168.5.0/24', '192.168.5.128/25', '10.0.0.0/8'] } },
        ],
      },
    ],
  });
  const m = model([allow]);
  t.same(
    m.map((p) => p.name),
    ['web'],
  );
  t.same(m[0]!.ingress![0]!.peers, [
    { kind: 'pods', ips: ['10.42.1.6'] },
    { kind: 'pods', ips: ['10.42.2.8'] },
    { kind: 'pods', ips: ['10.42.1.6', '10.42.2.8', '10.42.2.9'] },
    { kind: 'block', cidr: '192.168.0.0/16', except: ['192.168.5.0/24'] },
  ]);
  const s = renderRules(m);
  t.same(rulesOf(s, 'ingress-10.42.1.5'), [
    'ip saddr { 10.42.1.6 } return',
    'ip saddr { 10.42.2.8 } return',
    'ip saddr { 10.42.1.6, 10.42.2.8, 10.42.2.9 } return',
    'ip saddr 192.168.0.0/16 ip saddr != { 192.168.5.0/24 } return',
    'drop',
  ]);
  t.match(chainOf(s, 'ingress-10.42.1.5')![0], / return comment "default\/allow-web"$/, 'each rule names its policy');
  nftCheck(t, s);
});

t.test('ports: numbers, ranges (endPort), protocols, named ports on the pod itself; any policy allowing is enough', async (t) => {
  const ports = policy('default', 'ports', {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [
      {
        from: [{ podSelector: {} }],
        ports: [
          { port: 'http' },
          { port: 80 },
          { port: 81, endPort: 90 },
          { protocol: 'UDP', port: 53 },
          { protocol: 'SCTP' },
          { port: 'nope' },
        ],
      },
    ],
  });
  const more = policy('default', 'more', { podSelector: {}, ingress: [{ ports: [{ port: 443 }] }] });
  const s = renderRules(model([ports, more]));
  t.same(
    rulesOf(s, 'ingress-10.42.1.5'),
    [
      'meta l4proto tcp th dport 443 return',
      'ip saddr { 10.42.1.5, 10.42.1.6, 10.42.1.7 } meta l4proto tcp th dport { 80-90, 8080 } return',
      'ip saddr { 10.42.1.5, 10.42.1.6, 10.42.1.7 } meta l4proto udp th dport 53 return',
      'ip saddr { 10.42.1.5, 10.42.1.6, 10.42.1.7 } meta l4proto sctp return',
      'drop',
    ],
    'policies in name order, each rule as the policy says it',
  );
  t.same(rulesOf(s, 'ingress-10.42.1.6'), ['meta l4proto tcp th dport 443 return', 'drop'], 'client has no port named http');
  nftCheck(t, s);
});

t.test('egress: deny all but DNS (the node-local cluster DNS seen as kube-dns pods), named ports on the destination', async (t) => {
  const deny = policy('default', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
  const dns = policy('default', 'dns', {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 'dns-tcp' },
        ],
      },
    ],
  });
  const toHttp = policy('default', 'to-http', {
    podSelector: { matchLabels: { role: 'client' } },
    egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'http' }] }],
  });
  const m = model([deny, dns, toHttp]);
  t.same(
    m.map((p) => [p.name, p.ingress === undefined, p.egress?.length]),
    [
      ['web', true, 1],
      ['client', false, 2],
      ['other', true, 1],
    ],
    'Egress only where policyTypes says so, or where egress rules are given',
  );
  const s = renderRules(m);
  t.same(rulesOf(s, 'egress-10.42.1.6'), [
    'ip daddr { 10.43.0.10 } meta l4proto udp th dport 53 return',
    'ip daddr . meta l4proto . th dport { 10.43.0.10 . tcp . 53 } return',
    'ip daddr . meta l4proto . th dport { 10.42.1.5 . tcp . 8080, 10.42.2.8 . tcp . 9090 } return',
    'drop',
  ]);
  t.same(model([deny, dns], PODS, NAMESPACES, { nodeName: 'n1' })[0]!.egress, [], 'no cluster DNS: nobody is kube-dns');
  nftCheck(t, s);
});

t.test('what cannot be understood allows nothing; pods without an address of their own are left alone', async (t) => {
  const weird = policy('default', 'weird', {
    podSelector: {},
    ingress: [
      { from: [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'Bogus' as 'In' }] } }] },
      { from: [{ ipBlock: { cidr: 'fd00::/8' } }, { ipBlock: { cidr: 'garbage' } }] },
      { from: [{ podSelector: {} }], ports: [{ protocol: 'ICMP' as 'TCP', port: 1 }, { port: 0 }] },
      { from: [{}] },
    ],
  });
  const m = model(
    [weird],
    [
      ...PODS,
      { ...pod('default', 'host', '10.0.0.1', {}), spec: { ...web.spec!, hostNetwork: true } },
      { ...pod('default', 'done', '10.42.1.99', {}), status: { phase: 'Succeeded', podIP: '10.42.1.99' } },
      { ...pod('default', 'pending', '', {}), status: { phase: 'Pending' } },
    ],
  );
  t.same(
    m.map((p) => [p.name, p.ingress]),
    [
      ['web', []],
      ['client', []],
      ['other', []],
    ],
  );
  t.equal(canonicalCidr('10.1.2.3/8'), '10.0.0.0/8');
  t.equal(canonicalCidr('10.1.2.3/33'), undefined);
  t.doesNotThrow(() =>
    model([
      { metadata: { namespace: 'default', name: 'junk' }, spec: { podSelector: {}, ingress: [null, 1, { from: 'x', ports: 'y' }] as any } },
    ]),
  );
});

function source<T>(items: T[]) {
  const handlers: { add?(o: T): void }[] = [];
  return {
    items,
    list: () => items,
    on(h: { add?(o: T): void }) {
      handlers.push(h);
    },
    synced: () => Promise.resolve(),
    push(o: T) {
      items.push(o);
      for (const h of handlers) h.add?.(o);
    },
  };
}

t.test('the loop applies once every source has listed, again on a change, and not for a change that renders the same', async (t) => {
  const policies = source<NetworkPolicy>([]);
  const pods = source<Pod>([...PODS]);
  const namespaces = source<Namespace>([...NAMESPACES]);
  const applied: string[] = [];
  const loop = new PolicyLoop(policies, pods, namespaces, { node: NODE, debounceMs: 0, apply: async (s) => void applied.push(s) });
  t.teardown(() => loop.stop());
  await loop.start();
  t.equal(applied.length, 1, 'the first table');
  policies.push(policy('default', 'deny', { podSelector: {} }));
  await loop.syncNow();
  t.equal(applied.length, 2);
  t.match(applied[1], /ingress-10\.42\.1\.5/);
  pods.push(pod('elsewhere', 'x', '10.42.3.3', {}, { node: 'n3' }));
  await loop.syncNow();
  t.equal(applied.length, 2, 'a pod that changes nothing here applies nothing');
});
