import t from 'tap';
import { cycleState, filterNode } from '../../src/scheduler/filters.js';
import { scoreNodes } from '../../src/scheduler/scores.js';
import { buildSnapshot, podRequests, type NodeT, type PodT } from '../../src/scheduler/snapshot.js';
import { nodeAffinityMatches, tolerates } from '../../src/k8s/scheduling.js';

const node = (
  name: string,
  extra: { labels?: Record<string, string>; taints?: any[]; cpu?: string; memory?: string; pods?: string; unschedulable?: boolean } = {},
): NodeT => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...extra.labels } },
  spec: { taints: extra.taints, unschedulable: extra.unschedulable },
  status: { allocatable: { cpu: extra.cpu ?? '4', memory: extra.memory ?? '8Gi', pods: extra.pods ?? '110' } },
});

let uid = 0;
const pod = (spec: Record<string, any> = {}, meta: Record<string, any> = {}): PodT => ({
  metadata: { name: `p${++uid}`, namespace: 'default', uid: `u${uid}`, ...meta },
  spec: { containers: [{ name: 'c', image: 'i' }], ...spec },
});

const onNode = (p: PodT, nodeName: string): PodT => ({ ...p, spec: { ...p.spec!, nodeName } });

const why = (p: PodT, nodes: NodeT[], placed: PodT[] = []) => {
  const infos = buildSnapshot(nodes, placed);
  const state = cycleState(p, infos);
  return Object.fromEntries([...infos].map(([name, info]) => [name, filterNode(state, info)?.[0] ?? 'fits']));
};

t.test('requests: containers add up, init containers count by their largest, overhead on top', async (t) => {
  const p = pod({
    containers: [
      { name: 'a', resources: { requests: { cpu: '250m', memory: '64Mi' } } },
      { name: 'b', resources: { requests: { cpu: '0.5', memory: '1Gi' } } },
    ],
    initContainers: [{ name: 'i', resources: { requests: { cpu: '2', memory: '16Mi' } } }],
    overhead: { cpu: '10m' },
  });
  t.same(podRequests(p), { cpu: 2010, memory: 64 * 2 ** 20 + 2 ** 30 });
});

t.test('filters speak Kubernetes: node name, unschedulable, taints, selectors, resources, ports', async (t) => {
  const nodes = [
    node('small', { cpu: '1' }),
    node('tainted', { taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }] }),
    node('off', { unschedulable: true }),
    node('ssd', { labels: { disk: 'ssd', cores: '8' } }),
  ];
  t.same(why(pod({ nodeName: 'ssd' }), nodes), {
    small: "node(s) didn't match the requested node name",
    tainted: "node(s) didn't match the requested node name",
    off: "node(s) didn't match the requested node name",
    ssd: 'fits',
  });
  t.same(why(pod({ nodeSelector: { disk: 'ssd' } }), nodes), {
    small: "node(s) didn't match Pod's node affinity/selector",
    tainted: 'node(s) had untolerated taint {gpu: yes}',
    off: 'node(s) were unschedulable',
    ssd: 'fits',
  });
  const big = pod({
    containers: [{ name: 'c', resources: { requests: { cpu: '2' } } }],
    tolerations: [{ key: 'gpu', operator: 'Exists' }],
  });
  t.equal(why(big, nodes).small, 'Insufficient cpu');
  t.equal(why(big, nodes).tainted, 'fits', 'tolerated taint');
  const port = (hostPort: number) => pod({ containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort }] }] });
  const placed = [onNode(port(8080), 'ssd')];
  t.equal(why(port(8080), [node('ssd')], placed).ssd, "node(s) didn't have free ports for the requested pod ports");
  t.equal(why(port(8081), [node('ssd')], placed).ssd, 'fits');
  t.equal(why(pod(), [node('full', { pods: '1' })], [onNode(pod(), 'full')]).full, 'Too many pods');
});

t.test('node affinity operators and toleration matching', async (t) => {
  const n = node('n', { labels: { zone: 'a', cores: '8' } });
  const term = (expr: any) =>
    pod({
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [expr] }] } } },
    });
  t.ok(nodeAffinityMatches(term({ key: 'zone', operator: 'In', values: ['a', 'b'] }), n));
  t.notOk(nodeAffinityMatches(term({ key: 'zone', operator: 'NotIn', values: ['a'] }), n));
  t.ok(nodeAffinityMatches(term({ key: 'gpu', operator: 'DoesNotExist' }), n));
  t.ok(nodeAffinityMatches(term({ key: 'cores', operator: 'Gt', values: ['4'] }), n));
  t.notOk(nodeAffinityMatches(term({ key: 'cores', operator: 'Lt', values: ['4'] }), n));
  const fields = pod({
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n'] }] }],
        },
      },
    },
  });
  t.ok(nodeAffinityMatches(fields, n), 'matchFields on metadata.name');

  const taint = { key: 'k', value: 'v', effect: 'NoSchedule' };
  t.ok(tolerates([{ key: 'k', operator: 'Equal', value: 'v' }], taint), 'no effect: any effect');
  t.notOk(tolerates([{ key: 'k', operator: 'Equal', value: 'w' }], taint));
  t.ok(tolerates([{ operator: 'Exists' }], taint), 'empty key with Exists tolerates everything');
  t.notOk(tolerates([{ key: 'k', operator: 'Exists', effect: 'NoExecute' }], taint), 'effect must match when given');
});

t.test('pod anti-affinity, existing pods anti-affinity, affinity, topology spread', async (t) => {
  const nodes = ['a', 'b'].map((z) => node(`n-${z}`, { labels: { zone: z } }));
  const labelled = (app: string, nodeName: string, spec: Record<string, any> = {}) => onNode(pod(spec, { labels: { app } }), nodeName);
  const anti = {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'zone' }],
    },
  };
  t.same(why(pod({ affinity: anti }, { labels: { app: 'db' } }), nodes, [labelled('db', 'n-a')]), {
    'n-a': "node(s) didn't match pod anti-affinity rules",
    'n-b': 'fits',
  });
  t.same(why(pod({}, { labels: { app: 'db' } }), nodes, [labelled('web', 'n-a', { affinity: anti })]), {
    'n-a': "node(s) didn't satisfy existing pods anti-affinity rules",
    'n-b': 'fits',
  });
  const near = {
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'zone' }],
    },
  };
  t.same(why(pod({ affinity: near }), nodes, [labelled('cache', 'n-b')]), {
    'n-a': "node(s) didn't match pod affinity rules",
    'n-b': 'fits',
  });
  t.same(
    why(pod({ affinity: near }, { labels: { app: 'cache' } }), nodes),
    { 'n-a': 'fits', 'n-b': 'fits' },
    'the first pod of a self-selecting group may go anywhere',
  );

  const spread = {
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } },
    ],
  };
  t.same(
    why(pod(spread, { labels: { app: 'web' } }), nodes, [labelled('web', 'n-a')]),
    { 'n-a': "node(s) didn't match pod topology spread constraints", 'n-b': 'fits' },
    'skew would reach 2 in zone a',
  );
  t.same(why(pod(spread, { labels: { app: 'web' } }), nodes, [labelled('web', 'n-a'), labelled('web', 'n-b')]), {
    'n-a': 'fits',
    'n-b': 'fits',
  });
});

t.test('scores prefer the emptier node, preferred affinity and untainted nodes', async (t) => {
  const busy = node('busy');
  const idle = node('idle', { labels: { disk: 'ssd' } });
  const placed = [onNode(pod({ containers: [{ name: 'c', resources: { requests: { cpu: '3', memory: '6Gi' } } }] }), 'busy')];
  const score = (p: PodT, nodes: NodeT[]) => {
    const infos = buildSnapshot(nodes, placed);
    const list = [...infos.values()];
    const scores = scoreNodes(cycleState(p, infos), list);
    return Object.fromEntries(list.map((i, k) => [i.node.metadata!.name!, scores[k]!]));
  };
  const plain = score(pod(), [busy, idle]);
  t.ok(plain.idle! > plain.busy!, `least allocated wins (${JSON.stringify(plain)})`);
  const soft = node('soft', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] });
  const withTaint = score(pod(), [node('clean'), soft]);
  t.ok(withTaint.clean! > withTaint.soft!, 'PreferNoSchedule taints count against a node');
  const prefers = pod({
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
        ],
      },
    },
  });
  const pref = score(prefers, [node('plain'), idle]);
  t.ok(pref.idle! > pref.plain!, 'preferred node affinity adds up');
});

t.test('preemption picks the node whose victims matter least, and spares what still fits', async (t) => {
  const { findPreemption } = await import('../../src/scheduler/preemption.js');
  const withPriority = (priority: number, cpu: string, nodeName: string) =>
    onNode(pod({ priority, containers: [{ name: 'c', resources: { requests: { cpu } } }] }), nodeName);
  const nodes = [node('a', { cpu: '2' }), node('b', { cpu: '2' })];
  const placed = [withPriority(10, '1', 'a'), withPriority(5, '1', 'a'), withPriority(50, '1', 'b'), withPriority(1, '1', 'b')];
  const incoming = pod({ priority: 100, containers: [{ name: 'c', resources: { requests: { cpu: '1' } } }] });
  const infos = buildSnapshot(nodes, placed);
  const failures = new Map([...infos].map(([name, info]) => [name, filterNode(cycleState(incoming, infos), info) ?? []]));
  const choice = findPreemption(incoming, infos, failures)!;
  // On a, evicting the priority-5 pod is enough (the 10 is spared); on b, the priority-1 pod (the
  // 50 is spared). The highest victim priority decides: 1 on b beats 5 on a.
  t.equal(choice.node, 'b');
  t.same(
    choice.victims.map((p) => p.spec?.priority),
    [1],
  );
  t.equal(
    findPreemption({ ...incoming, spec: { ...incoming.spec!, preemptionPolicy: 'Never' } }, infos, failures),
    undefined,
    'preemptionPolicy Never',
  );
  const equal = pod({ priority: 1, containers: [{ name: 'c', resources: { requests: { cpu: '1' } } }] });
  t.equal(findPreemption(equal, infos, failures), undefined, 'only strictly lower priorities can be evicted');
});
