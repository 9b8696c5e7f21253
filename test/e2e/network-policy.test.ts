// NetworkPolicy on real nodes: two nodes of the network lab, pods on each, traffic tried from busybox
// nc inside the pods. Default deny ingress blocks (while the node's own probes keep the pod Ready);
// pod and namespace selectors, and both together, let exactly the chosen clients in, on the same node
// and from the other one; a named port opens only that port; ipBlock with except; egress denied but
// DNS, where cluster DNS still answers; and removing the policies restores everything.
// --disable-network-policy turns it off and removes the rules a node had.
import t from 'tap';
import { startAgent } from '../helpers/agents.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { createNetLab, type NetHost } from '../helpers/netlab.js';
import { BUSYBOX } from '../helpers/node-env.js';

const SERVE = [
  'mkdir -p /www',
  'echo "$HOSTNAME" > /www/index.html',
  'httpd -p 8080 -h /www',
  'httpd -p 8081 -h /www',
  'while true; do sleep 1; done',
].join(' && ');

function podOf(namespace: string, name: string, node: string, labels: Record<string, string>, serve = false) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      containers: [
        serve
          ? {
              name: 'web',
              image: BUSYBOX,
              command: ['sh', '-c', SERVE],
              ports: [
                { name: 'http', containerPort: 8080 },
                { name: 'other', containerPort: 8081 },
              ],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            }
          : { name: 'c', image: BUSYBOX, command: ['sleep', '3600'] },
      ],
    },
  };
}

const policyOf = (namespace: string, name: string, spec: object) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});

async function apply(c: Cluster, ...objects: object[]): Promise<void> {
  const r = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
}

/** Whether `from` gets an HTTP answer from ip:port (nc gives up after 2 s: a drop shows as nothing). */
async function reaches(c: Cluster, [ns, from]: [string, string], ip: string, port: number): Promise<boolean> {
  const r = await c.kubectl(['-n', ns, 'exec', from, '--', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} ${port}`]);
  return r.stdout.includes('HTTP/1.');
}

/** Waits until every client reaches (or not) ip:port as `want` says; fails with what each did last. */
async function expectReach(c: Cluster, what: string, ip: string, cases: [[string, string], number, boolean][], hosts: NetHost[]) {
  let last: boolean[] = [];
  await eventually(
    async () => {
      last = await Promise.all(cases.map(([from, port]) => reaches(c, from, ip, port)));
      return last.every((got, i) => got === cases[i]![2]);
    },
    {
      timeout: 90_000,
      what,
      explain: async () => {
        const seen = cases.map(([from, port], i) => `${from.join('/')} -> ${port}: ${last[i]} (want ${cases[i]![2]})`).join('\n');
        const tables = await Promise.all(hosts.map((h) => h.exec('nft', ['list', 'table', 'inet', 'skiff-netpol'])));
        return `${seen}\n${tables.map((r, i) => `${hosts[i]!.name}:\n${r.stdout}${r.stderr}`).join('\n')}`;
      },
    },
  );
}

t.test('NetworkPolicy across two nodes: deny, selectors, named port, ipBlock, egress with DNS, removal', async (t) => {
  const lab = createNetLab(t, 2);
  const [h0, h1] = lab.hosts as [NetHost, NetHost];
  const c = await startCluster(t, ['--node-name', 'n0'], { agent: true, host: h0 });
  await startAgent(t, c, h1, { name: 'n1' });
  t.teardown(() => c.kubectl(['delete', 'namespace', 'np', 'friends', 'strangers', '--wait', '--timeout=90s']));
  const namespaces = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'np' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'friends', labels: { team: 'friends' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'strangers' } },
  ];
  const pods = [
    podOf('np', 'web', 'n0', { app: 'web' }, true),
    podOf('np', 'client-a', 'n0', { role: 'allowed' }),
    podOf('np', 'client-b', 'n0', { role: 'denied' }),
    podOf('np', 'client-c', 'n1', { role: 'allowed' }),
    podOf('np', 'egress', 'n0', { role: 'egress-test' }),
    podOf('friends', 'f-allowed', 'n1', { role: 'allowed' }),
    podOf('friends', 'f-other', 'n1', { role: 'other' }),
    podOf('strangers', 's-allowed', 'n1', { role: 'allowed' }),
  ];
  await apply(c, ...namespaces);
  await apply(c, ...pods);
  const podIP = new Map<string, string>();
  await eventually(
    async () => {
      const list = JSON.parse(await c.k('get', 'pods', '-A', '-o', 'json')).items.filter((p: any) => p.metadata.namespace !== 'default');
      const ready = list.filter((p: any) => p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'));
      for (const p of ready) podIP.set(p.metadata.name, p.status.podIP);
      return ready.length === pods.length;
    },
    { timeout: 180_000, what: 'every pod Running and Ready' },
  );
  const web = podIP.get('web')!;
  const A: [string, string] = ['np', 'client-a'];
  const B: [string, string] = ['np', 'client-b'];
  const C: [string, string] = ['np', 'client-c'];
  const FA: [string, string] = ['friends', 'f-allowed'];
  const FO: [string, string] = ['friends', 'f-other'];
  const SA: [string, string] = ['strangers', 's-allowed'];
  const E: [string, string] = ['np', 'egress'];
  const hosts = [h0, h1];

  await expectReach(
    c,
    'everyone to reach web before any policy',
    web,
    [
      [A, 8080, true],
      [C, 8080, true],
      [SA, 8080, true],
    ],
    hosts,
  );

  await apply(c, policyOf('np', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }));
  await expectReach(
    c,
    'default deny ingress to block every client',
    web,
    [
      [A, 8080, false],
      [C, 8080, false],
      [FA, 8080, false],
    ],
    hosts,
  );
  const webPod = JSON.parse(await c.k('-n', 'np', 'get', 'pod', 'web', '-o', 'json'));
  t.ok(
    webPod.status.conditions.some((x: any) => x.type === 'Ready' && x.status === 'True'),
    'the node still probes its pod: web stays Ready',
  );

  await apply(
    c,
    policyOf('np', 'allow-web', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { role: 'allowed' } } },
            { namespaceSelector: { matchLabels: { team: 'friends' } }, podSelector: { matchLabels: { role: 'allowed' } } },
          ],
          ports: [{ port: 'http' }],
        },
      ],
    }),
  );
  await expectReach(
    c,
    'exactly the chosen clients in, on the named port only',
    web,
    [
      [A, 8080, true],
      [C, 8080, true],
      [FA, 8080, true],
      [B, 8080, false],
      [FO, 8080, false],
      [SA, 8080, false],
      [A, 8081, false],
    ],
    hosts,
  );
  t.pass('podSelector lets in its pods on this node and the other; namespace and pod selector together only those in both');

  await c.k('-n', 'np', 'delete', 'networkpolicy', 'allow-web');
  const n1CIDR = (await c.k('get', 'node', 'n1', '-o', 'jsonpath={.spec.podCIDR}')).trim();
  await apply(
    c,
    policyOf('np', 'from-n1', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ from: [{ ipBlock: { cidr: n1CIDR, except: [`${podIP.get('client-c')}/32`] } }] }],
    }),
  );
  await expectReach(
    c,
    `ipBlock ${n1CIDR} except client-c`,
    web,
    [
      [FO, 8080, true],
      [SA, 8081, true],
      [C, 8080, false],
      [A, 8080, false],
    ],
    hosts,
  );
  t.pass('ipBlock lets in its range, less its exception');

  await c.k('-n', 'np', 'delete', 'networkpolicy', 'from-n1', 'deny-ingress');
  await expectReach(
    c,
    'ingress open again',
    web,
    [
      [B, 8080, true],
      [E, 8080, true],
    ],
    hosts,
  );

  const lookup = async () => {
    const r = await c.kubectl([
      '-n',
      'np',
      'exec',
      'egress',
      '--',
      'nslookup',
      '-timeout=1',
      '-retry=1',
      'kubernetes.default.svc.cluster.local',
    ]);
    return /Address:\s*10\.43\.0\.1\b/.test(r.stdout);
  };
  t.ok(await eventually(lookup, { what: 'cluster DNS to answer before any egress policy' }), 'cluster DNS answers');
  await apply(c, policyOf('np', 'deny-egress', { podSelector: { matchLabels: { role: 'egress-test' } }, policyTypes: ['Egress'] }));
  await expectReach(
    c,
    'egress denied',
    web,
    [
      [E, 8080, false],
      [A, 8080, true],
    ],
    hosts,
  );
  t.notOk(await lookup(), 'with egress denied, cluster DNS does not answer either');

  await apply(
    c,
    policyOf('np', 'allow-dns', {
      podSelector: { matchLabels: { role: 'egress-test' } },
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
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
  );
  t.ok(
    await eventually(lookup, { what: 'cluster DNS to answer under the DNS exception' }),
    'the usual "allow kube-dns" rule lets DNS through',
  );
  t.notOk(await reaches(c, E, web, 8080), 'while everything else stays denied');

  await c.k('-n', 'np', 'delete', 'networkpolicy', '--all');
  await expectReach(
    c,
    'everything open again once the policies are gone',
    web,
    [
      [E, 8080, true],
      [C, 8080, true],
      [SA, 8080, true],
    ],
    hosts,
  );
  const left = await h0.exec('nft', ['list', 'table', 'inet', 'skiff-netpol']);
  t.notMatch(left.stdout, /ingress-10\.|egress-10\./, 'no pod chains are left');
});

t.test('--disable-network-policy: nothing is enforced, and a table left from before is removed', async (t) => {
  const lab = createNetLab(t, 1);
  const h0 = lab.hosts[0]!;
  await h0.exec('nft', ['add', 'table', 'inet', 'skiff-netpol']);
  const c = await startCluster(t, ['--node-name', 'n0', '--disable-network-policy'], { agent: true, host: h0 });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));
  t.ok(
    await eventually(async () => (await h0.exec('nft', ['list', 'table', 'inet', 'skiff-netpol'])).code !== 0, {
      what: 'the old table to be removed',
    }),
    'the table an earlier run left is removed',
  );
  await apply(
    c,
    { ...podOf('default', 'web', 'n0', { app: 'web' }, true), metadata: { name: 'web', labels: { app: 'web' } } },
    { ...podOf('default', 'client', 'n0', {}), metadata: { name: 'client' } },
    { ...policyOf('default', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }), metadata: { name: 'deny' } },
  );
  const ip = await eventually(
    async () => {
      const p = JSON.parse(await c.k('get', 'pod', 'web', '-o', 'json'));
      return p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True') && p.status.podIP;
    },
    { timeout: 120_000, what: 'web Ready' },
  );
  t.ok(
    await eventually(() => reaches(c, ['default', 'client'], ip, 8080), { what: 'client to reach web despite a deny-all policy' }),
    'a deny-all policy is not enforced',
  );
  t.equal((await h0.exec('nft', ['list', 'table', 'inet', 'skiff-netpol'])).code !== 0, true, 'no table was made');
});
