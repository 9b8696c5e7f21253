import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startHollowNodes } from '../helpers/hollow.js';

const podsByNode = async (k: (...a: string[]) => Promise<string>, selector: string) => {
  const out = await k('get', 'pods', '-l', selector, '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{"\\n"}{end}');
  const counts: Record<string, number> = {};
  for (const line of out.trim().split('\n').filter(Boolean)) {
    const [node, phase] = line.split(' ');
    if (phase === 'Running') counts[node!] = (counts[node!] ?? 0) + 1;
  }
  return counts;
};

t.test('a Deployment scaled 1 -> 20 -> 0, rolled out, rolled back, on three hollow nodes', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1', 'n2', 'n3']);
  t.match(await c.k('get', 'nodes'), /^n1\s+Ready\s+<none>\s+\d+s\s+v1\.32\.0\+skiff1$/m);

  t.equal(await c.k('create', 'deployment', 'web', '--image=busybox', '--replicas=1'), 'deployment.apps/web created\n');
  t.match(await c.k('rollout', 'status', 'deployment/web', '--timeout=60s'), /deployment "web" successfully rolled out/);
  await c.k('scale', 'deployment', 'web', '--replicas=20');
  t.match(await c.k('rollout', 'status', 'deployment/web', '--timeout=60s'), /deployment "web" successfully rolled out/);
  t.match(await c.k('get', 'deployment', 'web'), /^web\s+20\/20\s+20\s+20\s+/m);
  const spread = await podsByNode(c.k, 'app=web');
  t.same(Object.keys(spread).sort(), ['n1', 'n2', 'n3'], 'replicas are spread over every node');
  t.equal(
    Object.values(spread).reduce((a, b) => a + b, 0),
    20,
  );
  t.ok(Math.max(...Object.values(spread)) - Math.min(...Object.values(spread)) <= 2, `evenly (${JSON.stringify(spread)})`);

  // A rolling update watched to the end, recorded in the history, then undone.
  await c.k('set', 'image', 'deployment/web', 'busybox=busybox:1.36');
  await c.k('annotate', 'deployment', 'web', 'kubernetes.io/change-cause=busybox 1.36');
  const status = await c.k('rollout', 'status', 'deployment/web', '--timeout=60s');
  t.match(status, /deployment "web" successfully rolled out/);
  const rs = await c.k(
    'get',
    'replicasets',
    '-l',
    'app=web',
    '-o',
    'jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}={.spec.replicas} {end}',
  );
  t.same(rs.trim().split(' ').sort(), ['busybox:1.36=20', 'busybox=0']);
  t.match(await c.k('rollout', 'history', 'deployment/web'), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+busybox 1\.36\n/);
  t.match(
    await c.k('describe', 'deployment', 'web'),
    /ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set web-\w+ from \d+ to \d+/,
  );
  t.equal(await c.k('rollout', 'undo', 'deployment/web'), 'deployment.apps/web rolled back\n');
  t.match(await c.k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  t.equal(await c.k('get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'), 'busybox');
  t.match(await c.k('rollout', 'history', 'deployment/web'), /\n2\s+busybox 1\.36\n3\s+<none>\n/);
  t.match(
    await c.k('get', 'deployment', 'web', '-o', 'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}'),
    'NewReplicaSetAvailable',
  );

  // Pause and resume: changes while paused wait.
  await c.k('rollout', 'pause', 'deployment/web');
  await c.k('set', 'image', 'deployment/web', 'busybox=busybox:1.37');
  // The controller has seen the change (and would have rolled it out by now, had it ignored the pause).
  await eventually(
    async () => {
      const [generation, observed] = (
        await c.k('get', 'deployment', 'web', '-o', 'jsonpath={.metadata.generation} {.status.observedGeneration}')
      ).split(' ');
      return generation === observed;
    },
    { what: 'the deployment controller to observe the paused change' },
  );
  t.match(await c.k('get', 'replicasets', '-l', 'app=web', '-o', 'name'), /^(?![\s\S]*\n.*\n.*\n)/, 'no new ReplicaSet while paused');
  t.match(
    await c.k('get', 'deployment', 'web', '-o', 'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}'),
    'DeploymentPaused',
  );
  await c.k('rollout', 'resume', 'deployment/web');
  t.match(await c.k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  t.equal(await c.k('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].spec.containers[0].image}'), 'busybox:1.37');

  await c.k('scale', 'deployment', 'web', '--replicas=0');
  const emptied = await eventually(async () => (await c.k('get', 'pods', '-l', 'app=web', '-o', 'name')) === '');
  t.ok(emptied, 'scaled to zero: every pod is gone');
  t.match(await c.k('get', 'deployment', 'web'), /^web\s+0\/0\s+0\s+0\s+/m);
});

t.test('placement: nodeSelector, taints, anti-affinity, topology spread, an unschedulable pod explained', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(
    t,
    c,
    ['small', 'big', 'tainted'].map((n) => n),
    {},
  );
  await c.k('label', 'node', 'big', 'disk=ssd', 'zone=b');
  await c.k('label', 'node', 'small', 'zone=a');
  await c.k('label', 'node', 'tainted', 'zone=c');
  await c.k('taint', 'node', 'tainted', 'dedicated=gpu:NoSchedule');

  await c.k('run', 'picky', '--image=busybox', '--overrides={"spec":{"nodeSelector":{"disk":"ssd"}}}');
  t.equal(await eventually(async () => c.k('get', 'pod', 'picky', '-o', 'jsonpath={.spec.nodeName}')), 'big');

  await c.k('create', 'deployment', 'spread', '--image=busybox', '--replicas=4');
  t.match(await c.k('rollout', 'status', 'deployment/spread', '--timeout=60s'), /successfully rolled out/);
  t.notOk((await podsByNode(c.k, 'app=spread')).tainted, 'nothing lands on the tainted node without a toleration');

  const tolerant =
    '{"spec":{"tolerations":[{"key":"dedicated","operator":"Equal","value":"gpu","effect":"NoSchedule"}],"nodeSelector":{"zone":"c"}}}';
  await c.k('run', 'tolerant', '--image=busybox', `--overrides=${tolerant}`);
  t.equal(await eventually(async () => c.k('get', 'pod', 'tolerant', '-o', 'jsonpath={.spec.nodeName}')), 'tainted');

  // Required anti-affinity per host: three replicas, three nodes (each tolerating the taint).
  const anti = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'anti' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'anti' } },
      template: {
        metadata: { labels: { app: 'anti' } },
        spec: {
          containers: [{ name: 'c', image: 'busybox' }],
          tolerations: [{ key: 'dedicated', operator: 'Exists' }],
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: { app: 'anti' } }, topologyKey: 'kubernetes.io/hostname' },
              ],
            },
          },
        },
      },
    },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(anti) });
  t.match(await c.k('rollout', 'status', 'deployment/anti', '--timeout=60s'), /successfully rolled out/);
  t.same(Object.values(await podsByNode(c.k, 'app=anti')), [1, 1, 1], 'one replica per node');
  await c.k('scale', 'deployment', 'anti', '--replicas=4');
  const stuck = await eventually(async () => {
    const out = await c.k('get', 'pods', '-l', 'app=anti', '--field-selector=status.phase=Pending', '-o', 'name');
    return out.trim() || undefined;
  });
  t.ok(stuck, 'the fourth replica has nowhere to go');
  const described = await eventually(async () => {
    const out = await c.k('describe', stuck!.trim());
    return /FailedScheduling/.test(out) ? out : undefined;
  });
  t.match(
    described,
    /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/3 nodes are available: 3 node\(s\) didn't match pod anti-affinity rules\./,
  );
  t.match(described, /PodScheduled\s+False/);

  // Topology spread across zones, maxSkew 1: six replicas, two per zone.
  const spreadZones = structuredClone(anti) as any;
  spreadZones.metadata.name = 'zones';
  spreadZones.spec.replicas = 6;
  spreadZones.spec.selector.matchLabels.app = 'zones';
  spreadZones.spec.template.metadata.labels.app = 'zones';
  delete spreadZones.spec.template.spec.affinity;
  spreadZones.spec.template.spec.topologySpreadConstraints = [
    { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'zones' } } },
  ];
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(spreadZones) });
  t.match(await c.k('rollout', 'status', 'deployment/zones', '--timeout=60s'), /successfully rolled out/);
  t.same(await podsByNode(c.k, 'app=zones'), { small: 2, big: 2, tainted: 2 });

  // Too big for any node, and the words say why.
  await c.k(
    'run',
    'huge',
    '--image=busybox',
    '--overrides={"spec":{"containers":[{"name":"huge","image":"busybox","resources":{"requests":{"cpu":"64"}}}]}}',
  );
  const huge = await eventually(async () => {
    const out = await c.k('describe', 'pod', 'huge');
    return /FailedScheduling/.test(out) ? out : undefined;
  });
  t.match(huge, /0\/3 nodes are available: 1 node\(s\) had untolerated taint \{dedicated: gpu\}, 2 Insufficient cpu\./);
});

t.test('priority: PriorityClass values decide who is scheduled first; unknown classes are refused', async (t) => {
  const c = await startCluster(t);
  t.match(await c.k('get', 'priorityclasses'), /^system-cluster-critical\s+2000000000\s+false\s+/m);
  await c.k('create', 'priorityclass', 'high', '--value=1000');
  await c.k('run', 'low', '--image=busybox');
  await c.k('run', 'high', '--image=busybox', '--overrides={"spec":{"priorityClassName":"high"}}');
  t.equal(await c.k('get', 'pod', 'high', '-o', 'jsonpath={.spec.priority} {.spec.preemptionPolicy}'), '1000 PreemptLowerPriority');
  t.equal(await c.k('get', 'pod', 'low', '-o', 'jsonpath={.spec.priority}'), '0');
  const refused = await c.kubectl(['run', 'nope', '--image=busybox', '--overrides={"spec":{"priorityClassName":"missing"}}']);
  t.match(refused.stderr, /pods "nope" is forbidden: no PriorityClass with name missing was found/);

  // Room for one pod: the higher priority one gets it although it came second.
  await startHollowNodes(t, c, ['tiny'], { capacity: { pods: '1' } });
  t.equal(await eventually(async () => c.k('get', 'pod', 'high', '-o', 'jsonpath={.spec.nodeName}')), 'tiny');
  const why = await eventually(async () => {
    const out = await c.k('describe', 'pod', 'low');
    return /Too many pods/.test(out) ? out : undefined;
  });
  t.match(why, /0\/1 nodes are available: 1 Too many pods\./);
});

t.test('Recreate, rollout restart, and a rollout that exceeds its progress deadline', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1', 'n2']);
  const recreate = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'batchy' },
    spec: {
      replicas: 2,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app: 'batchy' } },
      template: { metadata: { labels: { app: 'batchy' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(recreate) });
  await c.k('rollout', 'status', 'deployment/batchy', '--timeout=60s');
  await c.k('rollout', 'restart', 'deployment/batchy');
  t.match(await c.k('rollout', 'status', 'deployment/batchy', '--timeout=60s'), /successfully rolled out/);
  const events = await c.k('describe', 'deployment', 'batchy');
  // Recreate: the old set goes to zero before the new one scales up.
  const down = events.search(/Scaled down replica set batchy-\w+ from 2 to 0/);
  const up = events.search(/Scaled up replica set batchy-\w+ from 0 to 2/g);
  t.ok(down > 0 && events.lastIndexOf('Scaled up replica set') > down, 'old pods were removed before new ones were started');
  t.ok(up > 0);
  t.match(
    await c.k('get', 'pods', '-l', 'app=batchy', '-o', 'jsonpath={.items[0].metadata.annotations}'),
    /kubectl\.kubernetes\.io\/restartedAt/,
  );

  // Pods nobody can run: the rollout times out after progressDeadlineSeconds.
  const stuck = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'stuck' },
    spec: {
      replicas: 1,
      progressDeadlineSeconds: 2,
      selector: { matchLabels: { app: 'stuck' } },
      template: {
        metadata: { labels: { app: 'stuck' } },
        spec: { nodeSelector: { disk: 'none' }, containers: [{ name: 'c', image: 'busybox' }] },
      },
    },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(stuck) });
  const status = await c.kubectl(['rollout', 'status', 'deployment/stuck', '--timeout=60s']);
  t.equal(status.code, 1);
  t.match(status.stderr, /error: deployment "stuck" exceeded its progress deadline/);
  t.equal(
    await c.k('get', 'deployment', 'stuck', '-o', 'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}'),
    'ProgressDeadlineExceeded',
  );
});

t.test('preemption: a higher-priority pod evicts a lower one to take its place', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['tiny'], { capacity: { pods: '1' } });
  await c.k('run', 'low', '--image=busybox');
  t.equal(
    await eventually(async () =>
      (await c.k('get', 'pod', 'low', '-o', 'jsonpath={.status.phase}')) === 'Running' ? 'Running' : undefined,
    ),
    'Running',
  );
  await c.k('create', 'priorityclass', 'urgent', '--value=1000');
  await c.k('create', 'priorityclass', 'polite', '--value=1000', '--preemption-policy=Never');
  await c.k('run', 'waits', '--image=busybox', '--overrides={"spec":{"priorityClassName":"polite"}}');
  // The scheduler found no room for it: by then it would have evicted, had it been allowed to.
  await eventually(
    async () =>
      (await c.k('get', 'pod', 'waits', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}')) === 'Unschedulable',
    { what: 'the polite pod to be found unschedulable' },
  );
  t.equal(await c.k('get', 'pod', 'low', '-o', 'jsonpath={.status.phase}'), 'Running', 'preemptionPolicy Never does not evict');
  t.equal(await c.k('get', 'pod', 'low', '-o', 'jsonpath={.metadata.deletionTimestamp}'), '', 'nor marks it for deletion');
  await c.k('delete', 'pod', 'waits');

  await c.k('run', 'high', '--image=busybox', '--overrides={"spec":{"priorityClassName":"urgent"}}');
  t.equal(
    await eventually(async () =>
      (await c.k('get', 'pod', 'high', '-o', 'jsonpath={.spec.nodeName} {.status.phase}')) === 'tiny Running' ? 'ok' : undefined,
    ),
    'ok',
    'the urgent pod runs on the only node',
  );
  t.equal((await c.kubectl(['get', 'pod', 'low'])).code, 1, 'the low-priority pod was evicted');
  const events = await c.k('get', 'events', '--field-selector=reason=Preempted', '-o', 'jsonpath={.items[*].message}');
  t.match(events, /^Preempted by pod [0-9a-f-]+ on node tiny$/);
});
