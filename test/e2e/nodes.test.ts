import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startHollowNodes } from '../helpers/hollow.js';

const FAST = [
  '--kube-controller-manager-arg',
  'node-monitor-grace-period=3s',
  '--kube-controller-manager-arg',
  'node-monitor-period=500ms',
];

t.test('a lost node goes NotReady, is tainted, and its pods are replaced after their toleration', async (t) => {
  const c = await startCluster(t, FAST);
  const [lost] = await startHollowNodes(t, c, ['n1', 'n2', 'n3'], { leaseRenewMs: 500 });
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 6,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{ name: 'c', image: 'busybox' }],
          tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }],
        },
      },
    },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment) });
  await c.k('rollout', 'status', 'deployment/web', '--timeout=60s');
  const onLost = (await c.k('get', 'pods', '--field-selector=spec.nodeName=n1', '-o', 'name')).trim().split('\n').filter(Boolean);
  t.ok(onLost.length > 0, `n1 runs some replicas (${onLost.length})`);

  lost!.kill();
  const notReady = await eventually(async () => /^n1\s+NotReady\s/m.test(await c.k('get', 'nodes')));
  t.ok(notReady, 'n1 becomes NotReady once its lease is not renewed for the grace period');
  t.match(
    await c.k(
      'get',
      'node',
      'n1',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].reason}',
    ),
    'Unknown NodeStatusUnknown',
  );
  t.ok(
    await eventually(async () =>
      (await c.k('get', 'node', 'n1', '-o', 'jsonpath={.spec.taints[*].key}')).includes('node.kubernetes.io/unreachable'),
    ),
    'and gets the unreachable taint',
  );

  // After the 2 s toleration the pods there are evicted and replaced elsewhere.
  const replaced = await eventually(
    async () => {
      const out = await c.k(
        'get',
        'pods',
        '-l',
        'app=web',
        '-o',
        'jsonpath={range .items[*]}{.spec.nodeName},{.status.phase},{.metadata.deletionTimestamp}{"\\n"}{end}',
      );
      const live = out
        .split('\n')
        .map((l) => l.split(','))
        .filter(([node, phase, deleting]) => node && node !== 'n1' && phase === 'Running' && !deleting);
      return live.length === 6;
    },
    { what: 'six replicas running off n1', explain: () => c.k('get', 'pods,replicasets,nodes', '-o', 'wide') },
  );
  t.ok(replaced, 'six replicas run on the remaining nodes');
  const events = await c.k('get', 'events', '--field-selector=reason=TaintManagerEviction', '-o', 'name');
  t.ok(events.trim().split('\n').length >= onLost.length, 'each eviction was recorded');
  t.match(await c.k('describe', 'node', 'n1'), /NodeNotReady/);

  // Deleting the dead node removes what was left of its pods.
  await c.k('delete', 'node', 'n1');
  t.ok(
    await eventually(async () => (await c.k('get', 'pods', '-A', '--field-selector=spec.nodeName=n1', '-o', 'name')) === ''),
    'pods of the deleted node are gone',
  );
});

t.test('a node that comes back is Ready again and loses the taint', async (t) => {
  const c = await startCluster(t, FAST);
  const [n1] = await startHollowNodes(t, c, ['n1'], { leaseRenewMs: 500 });
  n1!.kill();
  t.ok(await eventually(async () => /^n1\s+NotReady\s/m.test(await c.k('get', 'nodes'))));
  await startHollowNodes(t, c, ['n1'], { leaseRenewMs: 500 });
  t.ok(await eventually(async () => /^n1\s+Ready\s/m.test(await c.k('get', 'nodes'))), 'Ready again');
  t.ok(await eventually(async () => (await c.k('get', 'node', 'n1', '-o', 'jsonpath={.spec.taints}')) === ''), 'untainted');
});

t.test('a bad controller setting is one clear line', async (t) => {
  const { runSkiff } = await import('../helpers/run.js');
  const r = await runSkiff(['server', '--config', '/dev/null', '--kube-controller-manager-arg', 'node-monitor-grace-period=soon']);
  t.equal(r.code, 2);
  t.equal(r.stderr.trim(), 'skiff: invalid duration "soon" (use e.g. 40s, 1m30s, 500ms)');
});

t.test('every node gets its own /24 of --cluster-cidr, and its pods get addresses in it', async (t) => {
  const c = await startCluster(t, ['--cluster-cidr', '10.44.0.0/16']);
  await startHollowNodes(t, c, ['a', 'b', 'c']);
  const cidrs = await eventually(async () => {
    const out = (await c.k('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.spec.podCIDR} {end}')).trim().split(' ').filter(Boolean);
    return out.length === 3 ? out : undefined;
  });
  t.same([...cidrs!].sort(), ['10.44.0.0/24', '10.44.1.0/24', '10.44.2.0/24'], 'three different ranges');
  t.equal(
    await c.k('get', 'node', 'a', '-o', 'jsonpath={.spec.podCIDRs[0]}'),
    await c.k('get', 'node', 'a', '-o', 'jsonpath={.spec.podCIDR}'),
  );
  await c.k('run', 'p', '--image=busybox', '--overrides={"spec":{"nodeName":"b"}}');
  const ip = await eventually(async () => c.k('get', 'pod', 'p', '-o', 'jsonpath={.status.podIP}'));
  const bRange = (await c.k('get', 'node', 'b', '-o', 'jsonpath={.spec.podCIDR}')).split('.').slice(0, 3).join('.');
  t.ok(ip!.startsWith(`${bRange}.`), `the pod's address ${ip} is in b's range`);

  // A deleted node's range is free again for the next one.
  const freed = await c.k('get', 'node', 'c', '-o', 'jsonpath={.spec.podCIDR}');
  await c.k('delete', 'node', 'c');
  await startHollowNodes(t, c, ['d']);
  t.equal(await eventually(async () => c.k('get', 'node', 'd', '-o', 'jsonpath={.spec.podCIDR}')), freed);
});

t.test('a --cluster-cidr smaller than a /24 is refused in one line', async (t) => {
  const { runSkiff } = await import('../helpers/run.js');
  const r = await runSkiff(['server', '--config', '/dev/null', '--cluster-cidr', '10.44.0.0/25']);
  t.equal(r.code, 2);
  t.equal(r.stderr.trim(), 'skiff: invalid --cluster-cidr 10.44.0.0/25: it must be a /24 or larger (each node gets a /24)');
});

t.test('kubectl cordon, drain (through evictions) and uncordon', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1', 'n2']);
  await c.k('create', 'deployment', 'web', '--image=busybox', '--replicas=4');
  await c.k('rollout', 'status', 'deployment/web', '--timeout=60s');
  t.match(await c.k('describe', 'node', 'n1'), /Non-terminated Pods:\s+\(\d+ in total\)[\s\S]*Allocated resources:/);
  const drained = await c.k('drain', 'n1', '--ignore-daemonsets', '--timeout=60s');
  t.match(drained, /node\/n1 cordoned/);
  t.match(drained, /node\/n1 drained/);
  t.match(await c.k('get', 'node', 'n1'), /^n1\s+Ready,SchedulingDisabled\s+/m);
  await c.k('rollout', 'status', 'deployment/web', '--timeout=60s');
  const nodesOfPods = await eventually(async () => {
    const out = await c.k(
      'get',
      'pods',
      '-l',
      'app=web',
      '--field-selector=status.phase=Running',
      '-o',
      'jsonpath={.items[*].spec.nodeName}',
    );
    return out.split(' ').length === 4 ? out : undefined;
  });
  t.equal(nodesOfPods, 'n2 n2 n2 n2', 'the replicas moved to n2');
  t.equal(await c.k('uncordon', 'n1'), 'node/n1 uncordoned\n');
  t.match(await c.k('get', 'node', 'n1'), /^n1\s+Ready\s+/m);
});
