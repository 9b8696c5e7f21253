import t from 'tap';
import { keyOf } from '../../src/client/informer.js';
import { ClusterSnapshot } from '../../src/scheduler/cluster-snapshot.js';
import { buildSnapshot, type NodeInfo, type NodeT, type PodT } from '../../src/scheduler/snapshot.js';

const node = (name: string, cpu = '4'): NodeT => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name } },
  status: { allocatable: { cpu, memory: '8Gi', pods: '110' } },
});

const pod = (name: string, extra: { nodeName?: string; phase?: string; cpu?: string; hostPort?: number; owner?: string } = {}): PodT => ({
  metadata: {
    name,
    namespace: 'default',
    uid: `uid-${name}`,
    labels: { app: 'a' },
    ownerReferences: extra.owner
      ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: extra.owner, uid: extra.owner, controller: true }]
      : [],
  },
  spec: {
    nodeName: extra.nodeName,
    containers: [
      {
        name: 'c',
        image: 'i',
        resources: { requests: { cpu: extra.cpu ?? '100m', memory: '64Mi' } },
        ports: extra.hostPort ? [{ containerPort: 80, hostPort: extra.hostPort }] : [],
      },
    ],
  },
  status: { phase: extra.phase ?? 'Pending' },
});

/** What a node's info amounts to, comparable across snapshots. */
const summary = (info: NodeInfo | undefined) =>
  info && {
    pods: info.pods.map(keyOf).sort(),
    requested: Object.fromEntries(
      Object.entries(info.requested)
        .filter(([, v]) => Math.round(v) !== 0)
        .map(([k, v]) => [k, Math.round(v)]),
    ),
    allocatable: info.allocatable,
    ports: [...info.ports].sort(),
    antiAffinityPods: info.antiAffinityPods.map(keyOf).sort(),
    controllers: [...info.controllers].sort(),
  };

const summaries = (infos: Map<string, NodeInfo>) =>
  JSON.stringify([...infos].sort(([a], [b]) => a.localeCompare(b)).map(([name, info]) => [name, summary(info)]));

t.test('a bound pod counts on its node; one that finishes or is deleted frees it', async (t) => {
  const s = new ClusterSnapshot();
  s.setNode(node('n1'));
  s.setPod(pod('a'));
  t.same(summary(s.infos.get('n1'))!.pods, [], 'a pending pod is on no node');
  s.setPod(pod('a', { nodeName: 'n1', phase: 'Running', hostPort: 8080, owner: 'rs1' }));
  t.same(summary(s.infos.get('n1')), {
    pods: ['default/a'],
    requested: { cpu: 100, memory: 64 * 2 ** 20, pods: 1 },
    allocatable: { cpu: 4000, memory: 8 * 2 ** 30, pods: 110 },
    ports: [['TCP/0.0.0.0/8080', 1]],
    antiAffinityPods: [],
    controllers: [['rs1', 1]],
  });
  s.setPod(pod('a', { nodeName: 'n1', phase: 'Succeeded', hostPort: 8080, owner: 'rs1' }));
  t.same(summary(s.infos.get('n1')), summary(buildSnapshot([node('n1')], []).get('n1')), 'Succeeded frees the node');
  s.setPod(pod('b', { nodeName: 'n1', phase: 'Running' }));
  s.deletePod('default/b');
  t.same(summary(s.infos.get('n1'))!.pods, [], 'a deleted pod frees the node');
});

t.test('an assumed pod counts until the informer shows it bound, and goes if the binding fails', async (t) => {
  const s = new ClusterSnapshot();
  s.setNode(node('n1'));
  s.setPod(pod('a'));
  s.assume(pod('a'), 'n1');
  t.ok(s.isAssumed('default/a'));
  t.same(summary(s.infos.get('n1'))!.pods, ['default/a']);
  s.setPod(pod('a', { cpu: '200m' }));
  t.equal(s.infos.get('n1')!.requested.cpu, 200, 'an update before the informer shows it bound refreshes the assumed copy');
  s.setPod(pod('a', { nodeName: 'n1', cpu: '200m' }));
  t.notOk(s.isAssumed('default/a'), 'seen bound: no longer assumed');
  t.equal(s.infos.get('n1')!.requested.pods, 1, 'counted once');
  s.forget('default/a');
  t.equal(s.infos.get('n1')!.requested.pods, 1, 'forgetting a pod seen bound changes nothing');

  s.setPod(pod('b'));
  s.assume(pod('b'), 'n1');
  s.forget('default/b');
  t.same(summary(s.infos.get('n1'))!.pods, ['default/a'], 'a failed binding takes the assumed pod back');
  s.assume(pod('c'), 'n1');
  s.deletePod('default/c');
  t.same(summary(s.infos.get('n1'))!.pods, ['default/a'], 'an assumed pod deleted is gone');
});

t.test('nodes: added, updated, deleted; pods on an unknown node wait for it', async (t) => {
  const s = new ClusterSnapshot();
  s.setPod(pod('a', { nodeName: 'n1', phase: 'Running' }));
  t.equal(s.infos.size, 0, 'no node, nothing to schedule on');
  s.setNode(node('n1'));
  t.same(summary(s.infos.get('n1'))!.pods, ['default/a'], 'the node appears with the pod already on it');
  s.setNode(node('n1', '8'));
  t.equal(s.infos.get('n1')!.allocatable.cpu, 8000, 'an update changes what it offers');
  t.same(summary(s.infos.get('n1'))!.pods, ['default/a'], '... and keeps its pods');
  s.removeNode('n1');
  t.equal(s.infos.size, 0);
  s.setNode(node('n1'));
  t.same(summary(s.infos.get('n1'))!.pods, ['default/a'], 'a node back under the same name has its pods still there');
  s.removeNode('n1');
  s.deletePod('default/a');
  s.setNode(node('n1'));
  t.same(summary(s.infos.get('n1'))!.pods, [], 'a pod deleted while its node was away is gone');
});

t.test('after random events the snapshot equals one built from scratch', async (t) => {
  // mulberry32: a seeded generator, so a failure can be replayed.
  let seed = 42;
  const random = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return Math.floor((((x ^ (x >>> 14)) >>> 0) / 2 ** 32) * n);
  };
  const pick = <T>(xs: T[]) => xs[random(xs.length)]!;
  const s = new ClusterSnapshot();
  const nodes = new Map<string, NodeT>();
  const pods = new Map<string, PodT>();
  const assumed = new Map<string, string>();
  const nodeNames = ['n0', 'n1', 'n2', 'n3', 'n4'];
  const podNames = Array.from({ length: 30 }, (_, i) => `p${i}`);

  const randomPod = (name: string): PodT => {
    const p = pod(name, {
      nodeName: random(3) ? pick(nodeNames) : undefined,
      phase: pick(['Pending', 'Running', 'Running', 'Succeeded', 'Failed']),
      cpu: pick(['100m', '250m', '1']),
      hostPort: random(4) ? undefined : pick([80, 443]),
      owner: pick(['rs1', 'rs2', '']),
    });
    if (random(3) === 0)
      p.spec!.affinity = {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'a' } } },
          ],
        },
      };
    return p;
  };

  for (let step = 0; step < 3000; step++) {
    const what = random(8);
    if (what === 0) {
      const n = node(pick(nodeNames), pick(['2', '4', '8']));
      nodes.set(n.metadata!.name!, n);
      s.setNode(n);
    } else if (what === 1) {
      const name = pick(nodeNames);
      nodes.delete(name);
      s.removeNode(name);
    } else if (what <= 4) {
      const p = randomPod(pick(podNames));
      const key = keyOf(p);
      pods.set(key, p);
      if (p.spec?.nodeName || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') assumed.delete(key);
      s.setPod(p);
    } else if (what === 5) {
      const key = `default/${pick(podNames)}`;
      pods.delete(key);
      assumed.delete(key);
      s.deletePod(key);
    } else if (what === 6) {
      const p = pods.get(`default/${pick(podNames)}`);
      if (!p || p.spec?.nodeName || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      const to = pick(nodeNames);
      assumed.set(keyOf(p), to);
      s.assume(p, to);
    } else {
      const key = `default/${pick(podNames)}`;
      assumed.delete(key);
      s.forget(key);
    }
    const counted = [...pods].map(([key, p]) => (assumed.has(key) ? { ...p, spec: { ...p.spec!, nodeName: assumed.get(key) } } : p));
    const expected = summaries(buildSnapshot([...nodes.values()], counted));
    const actual = summaries(s.infos);
    if (actual !== expected) return t.same(JSON.parse(actual), JSON.parse(expected), `step ${step}`);
  }
  t.pass('3000 random events, always equal');
});
