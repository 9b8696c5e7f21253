// The Service rules as text, from Services and EndpointSlices: every kube-proxy semantic asserted on
// the nft script, and the script checked by the kernel's own parser (`nft -c`, in a user and network
// namespace of its own, so any user can run it; skipped where unprivileged namespaces are off).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { indexSlices, type ProxyNode, servicePorts } from '../../../src/agent/network/services/model.js';
import { increment } from '../../../src/agent/network/services/diff.js';
import { fullScript, renderRules, renderTable } from '../../../src/agent/network/services/render.js';

const NODE: ProxyNode = { nodeName: 'n1', clusterCIDR: '10.42.0.0/16', serviceCIDR: '10.43.0.0/16', clusterDNS: '10.43.0.10' };

type Ep = { ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean };

function svc(name: string, spec: Service['spec'], extra: Partial<Service> = {}): Service {
  return { metadata: { name, namespace: 'default' }, spec: { type: 'ClusterIP', ...spec }, ...extra };
}

function slice(service: string, ports: { name?: string; port: number; protocol?: string }[], eps: Ep[], ns = 'default'): EndpointSlice {
  return {
    metadata: { name: `${service}-abc`, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      ...(e.node ? { nodeName: e.node } : {}),
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
  };
}

const render = (services: Service[], slices: EndpointSlice[], node = NODE) =>
  renderRules(servicePorts(services, indexSlices(slices), node), node);

/** The body of one chain, rule lines trimmed. */
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

/** The elements of one map or set. */
function elementsOf(script: string, name: string): string[] {
  const start = script.indexOf(` ${name} {\n`);
  const end = script.indexOf('\n\t}', start);
  const body = script.slice(start, end);
  const m = body.match(/elements = \{\n([\s\S]*?)\n\t\t\}/);
  return m ? m[1]!.split(',\n').map((l) => l.trim()) : [];
}

// As root a network namespace is enough; others need a user namespace too, whose socket buffers are
// too small for the largest scripts.
const asRoot = process.getuid?.() === 0;
const unshare = asRoot ? ['-n'] : ['-rn'];
const canCheck = spawnSync('unshare', [...unshare, 'nft', '--version']).status === 0;

function nftCheck(t: Test, script: string, big = false): void {
  if (!canCheck || (big && !asRoot)) {
    t.comment('not checked with nft -c: it needs nft and unshare -rn (unprivileged user namespaces), or root for large scripts');
    return;
  }
  try {
    execFileSync('unshare', [...unshare, 'nft', '-c', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
    t.pass('nft accepts the script');
  } catch (err) {
    t.fail(`nft -c refused the script: ${(err as { stderr?: Buffer }).stderr?.toString()}`);
  }
}

const ep1 = 'endpoint-default/web/tcp/http__10.42.1.5/8080';
const web = svc('web', { clusterIP: '10.43.0.20', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
const webSlice = slice(
  'web',
  [{ name: 'http', port: 8080 }],
  [
    { ip: '10.42.1.5', node: 'n1' },
    { ip: '10.42.2.5', node: 'n2' },
  ],
);

t.test('a ClusterIP service: one map entry, a random choice among its endpoints, DNAT per endpoint', async (t) => {
  const s = render([web], [webSlice]);
  t.match(s, /^table ip skiff-services\ndelete table ip skiff-services\ntable ip skiff-services \{\n/, 'the table is replaced in one go');
  t.same(elementsOf(s, 'service-ips'), ['10.43.0.20 . tcp . 80 : goto service-default/web/tcp/http']);
  t.same(elementsOf(s, 'cluster-ips'), ['10.43.0.20']);
  t.same(chainOf(s, 'service-default/web/tcp/http'), [
    'ip daddr 10.43.0.20 tcp dport 80 ip saddr != 10.42.0.0/16 jump mark-for-masquerade',
    `numgen random mod 2 vmap { 0 : goto ${ep1}, 1 : goto endpoint-default/web/tcp/http__10.42.2.5/8080 }`,
  ]);
  t.same(
    chainOf(s, 'endpoint-default/web/tcp/http__10.42.1.5/8080'),
    ['ip saddr 10.42.1.5 jump mark-for-masquerade', 'meta l4proto tcp dnat to 10.42.1.5:8080'],
    'a pod reaching itself through its Service is masqueraded (hairpin)',
  );
  t.same(elementsOf(s, 'service-nodeports'), [], 'no NodePort');
  t.same(chainOf(s, 'nat-output'), ['type nat hook output priority -100; policy accept;', 'jump services'], 'the host reaches ClusterIPs');
  t.same(chainOf(s, 'nat-prerouting'), ['type nat hook prerouting priority -100; policy accept;', 'jump services']);
  t.same(chainOf(s, 'services'), [
    'ip daddr . meta l4proto . th dport vmap @service-ips',
    'fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports',
  ]);
  nftCheck(t, s);
  t.equal(render([web], [webSlice]), s, 'the same objects render the same text');
});

t.test('named target ports: each slice port is matched by the service port name and protocol', async (t) => {
  const multi = svc('multi', {
    clusterIP: '10.43.0.21',
    ports: [
      { name: 'http', port: 80, targetPort: 'web' },
      { name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' },
    ],
  });
  const slices = [
    slice(
      'multi',
      [
        { name: 'http', port: 8080 },
        { name: 'dns', port: 5353, protocol: 'UDP' },
      ],
      [{ ip: '10.42.1.6' }],
    ),
    // Pods that name the port differently land in a slice of their own.
    {
      ...slice('multi', [{ name: 'http', port: 9090 }], [{ ip: '10.42.1.7' }]),
      metadata: { name: 'multi-2', namespace: 'default', labels: { 'kubernetes.io/service-name': 'multi' } },
    },
  ];
  const s = render([multi], slices);
  t.same(elementsOf(s, 'service-ips'), [
    '10.43.0.21 . tcp . 80 : goto service-default/multi/tcp/http',
    '10.43.0.21 . udp . 53 : goto service-default/multi/udp/dns',
  ]);
  t.match(chainOf(s, 'endpoint-default/multi/udp/dns__10.42.1.6/5353'), [
    'ip saddr 10.42.1.6 jump mark-for-masquerade',
    'meta l4proto udp dnat to 10.42.1.6:5353',
  ]);
  t.ok(chainOf(s, 'endpoint-default/multi/tcp/http__10.42.1.6/8080'));
  t.ok(chainOf(s, 'endpoint-default/multi/tcp/http__10.42.1.7/9090'));
  t.notOk(chainOf(s, 'endpoint-default/multi/udp/dns__10.42.1.7/5353'), 'the second pod serves no dns port');
  nftCheck(t, s);
});

t.test('only ready endpoints; serving-terminating ones only when none is ready', async (t) => {
  const eps = (list: Ep[]) => [slice('web', [{ name: 'http', port: 8080 }], list)];
  let s = render(
    [web],
    eps([{ ip: '10.42.1.5' }, { ip: '10.42.1.6', ready: false, serving: true, terminating: true }, { ip: '10.42.1.7', ready: false }]),
  );
  t.match(
    chainOf(s, 'service-default/web/tcp/http')![1],
    /numgen random mod 1 vmap \{ 0 : goto endpoint-default\/web\/tcp\/http__10\.42\.1\.5\/8080 \}/,
  );
  t.notOk(chainOf(s, 'endpoint-default/web/tcp/http__10.42.1.6/8080'), 'terminating left out while a ready one exists');
  t.notOk(chainOf(s, 'endpoint-default/web/tcp/http__10.42.1.7/8080'), 'not ready left out');
  s = render(
    [web],
    eps([
      { ip: '10.42.1.6', ready: false, serving: true, terminating: true },
      { ip: '10.42.1.7', ready: false },
      { ip: '10.42.1.8', ready: false, serving: false, terminating: true },
    ]),
  );
  t.same(
    chainOf(s, 'service-default/web/tcp/http')!.slice(1),
    ['numgen random mod 1 vmap { 0 : goto endpoint-default/web/tcp/http__10.42.1.6/8080 }'],
    'the serving terminating one is the fallback',
  );
  s = render([web], eps([{ ip: '10.42.1.7', ready: false }]));
  t.same(elementsOf(s, 'no-endpoint-services'), ['10.43.0.20 . tcp . 80 : goto reject-chain'], 'no usable endpoint: rejected');
  t.same(elementsOf(s, 'service-ips'), []);
  nftCheck(t, s);
});

t.test('a service with no endpoints is rejected (ICMP/RST) on its ClusterIP, NodePort and load balancer addresses', async (t) => {
  const lb = svc(
    'lb',
    { type: 'LoadBalancer', clusterIP: '10.43.0.30', ports: [{ port: 80, nodePort: 30080 }] },
    { status: { loadBalancer: { ingress: [{ ip: '192.168.1.11' }] } } },
  );
  const s = render([lb], []);
  t.same(elementsOf(s, 'no-endpoint-services'), [
    '10.43.0.30 . tcp . 80 : goto reject-chain',
    '192.168.1.11 . tcp . 80 : goto reject-chain',
  ]);
  t.same(elementsOf(s, 'no-endpoint-nodeports'), ['tcp . 30080 : goto reject-chain']);
  t.same(chainOf(s, 'reject-chain'), ['reject']);
  t.same(chainOf(s, 'endpoints-check'), [
    'ip daddr . meta l4proto . th dport vmap @no-endpoint-services',
    'fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports',
  ]);
  for (const hook of ['filter-input', 'filter-forward', 'filter-output'])
    t.equal(chainOf(s, hook)![1], 'ct state new jump endpoints-check', `${hook} checks new connections`);
  nftCheck(t, s);
});

t.test(
  'NodePort on every node address and LoadBalancer ingress IPs go through the external chain, masqueraded under policy Cluster',
  async (t) => {
    const lb = svc(
      'lb',
      {
        type: 'LoadBalancer',
        clusterIP: '10.43.0.30',
        ports: [{ port: 80, nodePort: 30080, targetPort: 8080 }],
        externalIPs: ['192.168.1.50'],
      },
      { status: { loadBalancer: { ingress: [{ ip: '192.168.1.11' }, { ip: '192.168.1.12' }, { ip: '192.168.1.13', ipMode: 'Proxy' }] } } },
    );
    const s = render([lb], [slice('lb', [{ port: 8080 }], [{ ip: '10.42.1.5', node: 'n1' }])]);
    t.same(
      elementsOf(s, 'service-ips'),
      [
        '10.43.0.30 . tcp . 80 : goto service-default/lb/tcp/',
        '192.168.1.50 . tcp . 80 : goto external-default/lb/tcp/',
        '192.168.1.11 . tcp . 80 : goto external-default/lb/tcp/',
        '192.168.1.12 . tcp . 80 : goto external-default/lb/tcp/',
      ],
      "ipMode Proxy addresses are the load balancer's own business",
    );
    t.same(elementsOf(s, 'service-nodeports'), ['tcp . 30080 : goto external-default/lb/tcp/']);
    t.same(chainOf(s, 'external-default/lb/tcp/'), ['jump mark-for-masquerade', 'goto service-default/lb/tcp/']);
    t.same(chainOf(s, 'masquerading'), ['meta mark & 0x4000 == 0 return', 'meta mark set meta mark xor 0x4000', 'masquerade fully-random']);
    t.same(chainOf(s, 'nat-postrouting')!.slice(1), ['jump masquerading']);
    nftCheck(t, s);
    const np = svc('np', { type: 'NodePort', clusterIP: '10.43.0.31', ports: [{ port: 80, nodePort: 30081 }] });
    t.same(elementsOf(render([np], [slice('np', [{ port: 80 }], [{ ip: '10.42.1.5' }])]), 'service-nodeports'), [
      'tcp . 30081 : goto external-default/np/tcp/',
    ]);
    const cip = svc('cip', { clusterIP: '10.43.0.32', ports: [{ port: 80, nodePort: 30082 }] });
    t.same(
      elementsOf(render([cip], [slice('cip', [{ port: 80 }], [{ ip: '10.42.1.5' }])]), 'service-nodeports'),
      [],
      'a ClusterIP service has no NodePort even if one is set',
    );
  },
);

t.test("externalTrafficPolicy Local: external traffic to this node's endpoints only, source kept, dropped when none", async (t) => {
  const local = svc(
    'loc',
    { type: 'LoadBalancer', clusterIP: '10.43.0.40', externalTrafficPolicy: 'Local', ports: [{ port: 80, nodePort: 30090 }] },
    { status: { loadBalancer: { ingress: [{ ip: '192.168.1.11' }] } } },
  );
  const eps = slice(
    'loc',
    [{ port: 80 }],
    [
      { ip: '10.42.1.5', node: 'n1' },
      { ip: '10.42.2.5', node: 'n2' },
    ],
  );
  let s = render([local], [eps]);
  t.same(
    chainOf(s, 'external-default/loc/tcp/'),
    [
      'ip saddr 10.42.0.0/16 goto service-default/loc/tcp/',
      'fib saddr type local jump mark-for-masquerade',
      'fib saddr type local goto service-default/loc/tcp/',
      'goto local-default/loc/tcp/',
    ],
    'no masquerade for outside clients; pods and the host short-circuit to every endpoint',
  );
  t.same(chainOf(s, 'local-default/loc/tcp/'), ['numgen random mod 1 vmap { 0 : goto endpoint-default/loc/tcp/__10.42.1.5/80 }']);
  t.match(
    chainOf(s, 'service-default/loc/tcp/'),
    [/ip saddr != 10.42.0.0\/16 jump mark-for-masquerade/, /mod 2/],
    'ClusterIP traffic still goes anywhere',
  );
  nftCheck(t, s);

  s = render([local], [eps], { ...NODE, nodeName: 'n3' });
  t.same(
    chainOf(s, 'external-default/loc/tcp/'),
    [
      'ip saddr 10.42.0.0/16 goto service-default/loc/tcp/',
      'fib saddr type local jump mark-for-masquerade',
      'fib saddr type local goto service-default/loc/tcp/',
    ],
    'no local endpoint: only pods and the host get through',
  );
  t.same(elementsOf(s, 'no-endpoint-nodeports'), ['tcp . 30090 : drop']);
  t.same(elementsOf(s, 'no-endpoint-services'), ['192.168.1.11 . tcp . 80 : drop']);
  t.notOk(chainOf(s, 'local-default/loc/tcp/'));
  nftCheck(t, s);

  // The fallback to serving-terminating endpoints is decided for local ones on their own.
  s = render(
    [local],
    [
      slice(
        'loc',
        [{ port: 80 }],
        [
          { ip: '10.42.1.5', node: 'n1', ready: false, serving: true, terminating: true },
          { ip: '10.42.2.5', node: 'n2' },
        ],
      ),
    ],
  );
  t.same(chainOf(s, 'local-default/loc/tcp/'), ['numgen random mod 1 vmap { 0 : goto endpoint-default/loc/tcp/__10.42.1.5/80 }']);
  t.match(chainOf(s, 'service-default/loc/tcp/')![1], /mod 1 vmap \{ 0 : goto endpoint-default\/loc\/tcp\/__10\.42\.2\.5\/80 \}/);
  nftCheck(t, s);
});

t.test("internalTrafficPolicy Local: ClusterIP traffic to this node's endpoints only, dropped when none", async (t) => {
  const itp = svc('itp', { clusterIP: '10.43.0.41', internalTrafficPolicy: 'Local', ports: [{ port: 80 }] });
  const eps = slice(
    'itp',
    [{ port: 80 }],
    [
      { ip: '10.42.1.5', node: 'n1' },
      { ip: '10.42.2.5', node: 'n2' },
    ],
  );
  let s = render([itp], [eps]);
  t.same(elementsOf(s, 'service-ips'), ['10.43.0.41 . tcp . 80 : goto local-default/itp/tcp/']);
  t.same(chainOf(s, 'local-default/itp/tcp/'), [
    'ip daddr 10.43.0.41 tcp dport 80 ip saddr != 10.42.0.0/16 jump mark-for-masquerade',
    'numgen random mod 1 vmap { 0 : goto endpoint-default/itp/tcp/__10.42.1.5/80 }',
  ]);
  t.notOk(chainOf(s, 'service-default/itp/tcp/'), 'no cluster-wide chain is needed');
  s = render([itp], [eps], { ...NODE, nodeName: 'n3' });
  t.same(elementsOf(s, 'no-endpoint-services'), ['10.43.0.41 . tcp . 80 : drop'], 'endpoints elsewhere: dropped, not rejected');
  nftCheck(t, s);
});

t.test('sessionAffinity ClientIP: a timed set per endpoint, checked before the random choice, refreshed on use', async (t) => {
  const sticky = svc('sticky', {
    clusterIP: '10.43.0.50',
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    ports: [{ port: 80 }],
  });
  const eps = slice('sticky', [{ port: 80 }], [{ ip: '10.42.1.5' }, { ip: '10.42.1.6' }]);
  const ports = servicePorts([sticky], indexSlices([eps]), NODE);
  const s = renderRules(ports, NODE);
  t.same(chainOf(s, 'service-default/sticky/tcp/')!.slice(1), [
    'ip saddr @affinity-default/sticky/tcp/__10.42.1.5/80 goto endpoint-default/sticky/tcp/__10.42.1.5/80',
    'ip saddr @affinity-default/sticky/tcp/__10.42.1.6/80 goto endpoint-default/sticky/tcp/__10.42.1.6/80',
    'numgen random mod 2 vmap { 0 : goto endpoint-default/sticky/tcp/__10.42.1.5/80, 1 : goto endpoint-default/sticky/tcp/__10.42.1.6/80 }',
  ]);
  t.same(chainOf(s, 'endpoint-default/sticky/tcp/__10.42.1.5/80'), [
    'ip saddr 10.42.1.5 jump mark-for-masquerade',
    'update @affinity-default/sticky/tcp/__10.42.1.5/80 { ip saddr }',
    'meta l4proto tcp dnat to 10.42.1.5:80',
  ]);
  t.match(
    s,
    /set affinity-default\/sticky\/tcp\/__10\.42\.1\.5\/80 \{\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout 60s\n\t\}/,
  );
  nftCheck(t, s);
  const carried = renderRules(ports, NODE, [
    { set: 'affinity-default/sticky/tcp/__10.42.1.6/80', ip: '10.42.3.3', expiresMs: 5000 },
    { set: 'affinity-default/sticky/tcp/__10.42.9.9/80', ip: '10.42.3.4', expiresMs: 5000 },
  ]);
  t.same(
    elementsOf(carried, 'affinity-default/sticky/tcp/__10.42.1.6/80'),
    ['10.42.3.3 expires 5000ms'],
    'a client keeps its endpoint across a re-created table',
  );
  t.notMatch(carried, /10\.42\.3\.4/, 'entries of endpoints that are gone are dropped');
  nftCheck(t, carried);
  const dflt = svc('d', { clusterIP: '10.43.0.51', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] });
  t.match(render([dflt], [slice('d', [{ port: 80 }], [{ ip: '10.42.1.5' }])]), /timeout 10800s/, 'three hours by default');
});

t.test("ExternalName, headless, other proxies' services and the cluster DNS address get no rules", async (t) => {
  const services = [
    svc('ext', { type: 'ExternalName', externalName: 'example.com' }),
    svc('headless', { clusterIP: 'None', selector: { app: 'x' }, ports: [{ port: 80 }] }),
    svc('kube-dns', { clusterIP: '10.43.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
    svc(
      'other',
      { clusterIP: '10.43.0.60', ports: [{ port: 80 }] },
      { metadata: { name: 'other', namespace: 'default', labels: { 'service.kubernetes.io/service-proxy-name': 'x' } } },
    ),
  ];
  const s = render(services, [slice('headless', [{ port: 80 }], [{ ip: '10.42.1.5' }])]);
  for (const m of ['service-ips', 'no-endpoint-services', 'cluster-ips', 'service-nodeports']) t.same(elementsOf(s, m), [], m);
  t.notMatch(s, /10\.43\.0\.10 \./, 'nothing matches the cluster DNS address');
  t.same(
    chainOf(s, 'cluster-ips-check'),
    ['ip daddr @cluster-ips reject', 'ip daddr 10.43.0.0/16 ip daddr != 10.43.0.10 drop'],
    'the unallocated-address drop spares it',
  );
  nftCheck(t, s);
});

t.test('default/kubernetes: DNAT to the API server address and port', async (t) => {
  const k = svc('kubernetes', { clusterIP: '10.43.0.1', ports: [{ name: 'https', port: 443, targetPort: 6443 }] });
  const s = render(
    [k],
    [
      {
        ...slice('kubernetes', [{ name: 'https', port: 6443 }], []),
        endpoints: [{ addresses: ['192.168.1.11'], conditions: { ready: true } }],
      },
    ],
  );
  t.same(elementsOf(s, 'service-ips'), ['10.43.0.1 . tcp . 443 : goto service-default/kubernetes/tcp/https']);
  t.equal(chainOf(s, 'endpoint-default/kubernetes/tcp/https__192.168.1.11/6443')![1], 'meta l4proto tcp dnat to 192.168.1.11:6443');
});

t.test('a key two services claim (two LoadBalancers on one node address and port) goes to the first only', async (t) => {
  const a = svc(
    'a',
    { type: 'LoadBalancer', clusterIP: '10.43.0.70', ports: [{ port: 80, nodePort: 30100 }] },
    { status: { loadBalancer: { ingress: [{ ip: '192.168.1.11' }] } } },
  );
  const b = svc(
    'b',
    { type: 'LoadBalancer', clusterIP: '10.43.0.71', ports: [{ port: 80, nodePort: 30101 }] },
    { status: { loadBalancer: { ingress: [{ ip: '192.168.1.11' }] } } },
  );
  const s = render([b, a], [slice('a', [{ port: 80 }], [{ ip: '10.42.1.5' }]), slice('b', [{ port: 80 }], [{ ip: '10.42.1.6' }])]);
  t.same(
    elementsOf(s, 'service-ips').filter((e) => e.startsWith('192.168.1.11')),
    ['192.168.1.11 . tcp . 80 : goto external-default/a/tcp/'],
  );
  nftCheck(t, s);
});

t.test('1,000 services with 10,000 endpoints render in linear time and nft accepts them', async (t) => {
  const { services, slices } = bigCluster(1000, 10);
  const t0 = performance.now();
  const s = render(services, slices);
  t.comment(`rendered ${s.length} bytes in ${Math.round(performance.now() - t0)} ms`);
  t.equal(elementsOf(s, 'service-ips').length, 1000);
  t.equal((s.match(/dnat to/g) ?? []).length, 10_000);
  nftCheck(t, s, true);
});

function bigCluster(n: number, per: number): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    services.push(svc(`s${i}`, { clusterIP: `10.43.${100 + (i >> 8)}.${i & 255}`, ports: [{ name: 'http', port: 80 }] }));
    const eps: Ep[] = [];
    for (let j = 0; j < per; j++) eps.push({ ip: `10.42.${(i * per + j) >> 8}.${(i * per + j) & 255}`, node: `n${j % 3}` });
    slices.push(slice(`s${i}`, [{ name: 'http', port: 8080 }], eps));
  }
  return { services, slices };
}

t.test('a change is applied as the differing chains and elements only, in one batch', async (t) => {
  const eps = (ips: string[]) => [
    slice(
      'web',
      [{ name: 'http', port: 8080 }],
      ips.map((ip) => ({ ip, node: 'n1' })),
    ),
  ];
  const table = (ips: string[]) => renderTable(servicePorts([web], indexSlices(eps(ips)), NODE), NODE);
  const before = table(['10.42.1.5', '10.42.1.6']);
  t.same(
    increment(before, table(['10.42.1.5', '10.42.1.6']), () => false),
    { script: '', emptied: [] },
    'nothing changed, nothing sent',
  );

  const after = table(['10.42.1.5', '10.42.1.7']);
  const inc = increment(before, after, () => false)!;
  const gone = 'endpoint-default/web/tcp/http__10.42.1.6/8080';
  const offCluster = 'ip saddr != 10.42.0.0/16 jump mark-for-masquerade';
  const added = 'endpoint-default/web/tcp/http__10.42.1.7/8080';
  t.same(inc.script.trim().split('\n'), [
    `add chain ip skiff-services ${added}`,
    'flush chain ip skiff-services service-default/web/tcp/http',
    `flush chain ip skiff-services ${gone}`,
    `add rule ip skiff-services service-default/web/tcp/http ip daddr 10.43.0.20 tcp dport 80 ${offCluster}`,
    `add rule ip skiff-services service-default/web/tcp/http numgen random mod 2 vmap { 0 : goto ${ep1}, 1 : goto ${added} }`,
    `add rule ip skiff-services ${added} ip saddr 10.42.1.7 jump mark-for-masquerade`,
    `add rule ip skiff-services ${added} meta l4proto tcp dnat to 10.42.1.7:8080`,
  ]);
  t.same(inc.emptied, [gone], 'the chain that fell out of use is emptied, not deleted yet');
  after.chains.set(gone, []);
  const later = increment(after, table(['10.42.1.5', '10.42.1.7']), () => true)!;
  t.same(later, { script: `delete chain ip skiff-services ${gone}\n`, emptied: [] }, 'a later batch deletes it');

  const np = svc('np', { type: 'NodePort', clusterIP: '10.43.0.31', ports: [{ port: 80, nodePort: 30081 }] });
  const withNp = renderTable(servicePorts([web, np], indexSlices(eps(['10.42.1.5', '10.42.1.7'])), NODE), NODE);
  const npInc = increment(after, withNp, () => false)!;
  t.match(npInc.script, /add element ip skiff-services cluster-ips \{ 10\.43\.0\.31 \}/);
  t.match(npInc.script, /add element ip skiff-services no-endpoint-services \{ 10\.43\.0\.31 \. tcp \. 80 : goto reject-chain \}/);
  t.match(npInc.script, /add element ip skiff-services no-endpoint-nodeports \{ tcp \. 30081 : goto reject-chain \}/);
  const back = increment(withNp, after, () => false)!;
  t.match(back.script, /delete element ip skiff-services no-endpoint-nodeports \{ tcp \. 30081 \}/, 'map elements go by key');
  const ports = [{ port: 80 }];
  const sticky = (timeoutSeconds: number) =>
    renderTable(
      servicePorts(
        [
          svc('s', {
            clusterIP: '10.43.0.50',
            ports,
            sessionAffinity: 'ClientIP',
            sessionAffinityConfig: { clientIP: { timeoutSeconds } },
          }),
        ],
        indexSlices([slice('s', [{ port: 80 }], [{ ip: '10.42.1.5' }])]),
        NODE,
      ),
      NODE,
    );
  t.equal(
    increment(sticky(60), sticky(120), () => false),
    undefined,
    'a set declared anew (another affinity timeout): replace it all',
  );

  if (!asRoot || !canCheck) return;
  // In the kernel: the full table, then the batches, are accepted; the result DNATs to the new endpoint.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rules-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'full.nft'), fullScript(before));
  fs.writeFileSync(path.join(dir, 'inc.nft'), inc.script);
  fs.writeFileSync(path.join(dir, 'later.nft'), later.script);
  const listed = execFileSync('unshare', [
    '-n',
    'sh',
    '-c',
    `nft -f ${dir}/full.nft && nft -f ${dir}/inc.nft && nft -f ${dir}/later.nft && nft list table ip skiff-services`,
  ]).toString();
  t.match(listed, /dnat to 10\.42\.1\.7:8080/);
  t.notMatch(listed, /10\.42\.1\.6/, 'the old endpoint and its chain are gone');
});
