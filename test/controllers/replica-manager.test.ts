// The one replica manager behind ReplicaSets and ReplicationControllers: creating, adopting,
// releasing and removing pods, and the status both report, against the in-process API (no nodes:
// pods stay unscheduled, so they are deleted at once).
import t, { type Test } from 'tap';
import { events, pods, replicaSets, replicationControllers } from '../../src/client/resources.js';
import { withControllers } from './running.js';
import { replicaStatus } from '../../src/controllers/replica-manager.js';
import { replicaSetKind } from '../../src/controllers/replicaset.js';
import { replicationControllerKind } from '../../src/controllers/replication-controller.js';
import { matches } from '../../src/k8s/selectors.js';
import { eventually } from '../helpers/eventually.js';

const podSpec = { containers: [{ name: 'c', image: 'busybox' }] };

async function cluster(t: Test) {
  const { api } = await withControllers(t);
  const podsOf = async (uid: string) =>
    (await api.resource(pods).list('default')).items.filter(
      (p) => p.metadata?.ownerReferences?.some((r) => r.controller && r.uid === uid) && !p.metadata?.deletionTimestamp,
    );
  return { api, podsOf };
}

t.test('the two kinds differ only in how their selector reads', async (t) => {
  const rcSel = replicationControllerKind.selector({ spec: { selector: { app: 'web', tier: 'front' } } })!;
  t.ok(matches(rcSel, { app: 'web', tier: 'front', extra: 'x' }), 'a plain map: every pair must be there');
  t.notOk(matches(rcSel, { app: 'web' }));
  const rsSel = replicaSetKind.selector({
    spec: { selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } },
  } as never)!;
  t.ok(matches(rsSel, { app: 'api' }), 'a LabelSelector with expressions');
  t.same(replicationControllerKind.selector({ spec: {} }), [], 'no selector selects nothing (the manager skips it)');
});

t.test('status counts active, fully labelled, ready and available pods', async (t) => {
  const now = Date.parse('2026-01-01T00:01:00Z');
  const ready = (since: string) => ({
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: since }] },
  });
  const owner = {
    metadata: { generation: 4 },
    spec: { minReadySeconds: 30, template: { metadata: { labels: { app: 'web', tier: 'front' } } } },
  };
  const list = [
    { metadata: { labels: { app: 'web', tier: 'front' } }, ...ready('2026-01-01T00:00:00Z') },
    { metadata: { labels: { app: 'web', tier: 'front' } }, ...ready('2026-01-01T00:00:50Z') },
    { metadata: { labels: { app: 'web' } }, status: { phase: 'Pending' } },
  ];
  t.same(replicaStatus(owner, list as never, now), {
    replicas: 3,
    fullyLabeledReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 1,
    observedGeneration: 4,
  });
});

t.test('a ReplicationController creates, adopts, releases and removes pods, owning them as ReplicationController', async (t) => {
  const { api, podsOf } = await cluster(t);
  // An orphan that matches, there before the controller: adopted, so only two more are made.
  await api.resource(pods).create({ metadata: { name: 'stray', namespace: 'default', labels: { app: 'web' } }, spec: podSpec });
  const rc = await api.resource(replicationControllers).create({
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 3, template: { metadata: { labels: { app: 'web' } }, spec: podSpec } },
  });
  t.same(rc.spec?.selector, { app: 'web' }, 'the selector defaults to the template labels');
  const uid = rc.metadata!.uid!;
  const three = await eventually(async () => ((await podsOf(uid)).length === 3 ? podsOf(uid) : undefined));
  t.ok(three, 'three pods under the controller');
  t.ok(
    three?.some((p) => p.metadata?.name === 'stray'),
    'the orphan was adopted',
  );
  const ref = three ? three[0]!.metadata!.ownerReferences![0]! : undefined;
  t.match(ref, { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid, controller: true, blockOwnerDeletion: true });
  const status = await eventually(async () => {
    const s = (await api.resource(replicationControllers).get('default', 'web')).status;
    return s?.replicas === 3 && s.fullyLabeledReplicas === 3 && s.observedGeneration === 1 ? s : undefined;
  });
  t.ok(status, 'status: replicas, fullyLabeledReplicas, observedGeneration');

  // A pod relabelled out of the selector is let go (it stays, nobody's now) and replaced.
  await api.resource(pods).patch('default', 'stray', { metadata: { labels: { app: 'other' } } });
  const released = await eventually(async () => {
    const p = await api.resource(pods).get('default', 'stray');
    return !p.metadata?.ownerReferences?.length ? p : undefined;
  });
  t.ok(released, 'the relabelled pod has no owner any more');
  t.ok(
    await eventually(async () => (await podsOf(uid)).length === 3 && !(await podsOf(uid)).some((p) => p.metadata?.name === 'stray')),
    'and a replacement took its place',
  );

  await api.resource(replicationControllers).patch('default', 'web', { spec: { replicas: 1 } });
  t.ok(await eventually(async () => (await podsOf(uid)).length === 1), 'scaled down to one');
  const evs = await eventually(async () => {
    const list = (await api.resource(events).list('default')).items.filter((e) => e.involvedObject.kind === 'ReplicationController');
    return list.some((e) => e.reason === 'SuccessfulDelete') ? list : undefined;
  });
  t.ok(
    evs?.some((e) => e.reason === 'SuccessfulCreate' && e.source?.component === 'replication-controller'),
    'events come from replication-controller',
  );
});

t.test('the same manager serves ReplicaSets: adoption and release by a LabelSelector', async (t) => {
  const { api, podsOf } = await cluster(t);
  await api.resource(pods).create({ metadata: { name: 'stray', namespace: 'default', labels: { app: 'api', tier: 'x' } }, spec: podSpec });
  const rs = await api.resource(replicaSets).create({
    metadata: { name: 'api', namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['api'] }] },
      template: { metadata: { labels: { app: 'api' } }, spec: podSpec },
    },
  });
  const uid = rs.metadata!.uid!;
  const two = await eventually(async () => ((await podsOf(uid)).length === 2 ? podsOf(uid) : undefined));
  t.ok(
    two?.some((p) => p.metadata?.name === 'stray'),
    'the orphan was adopted',
  );
  t.match(two ? two[0]!.metadata!.ownerReferences![0] : undefined, { apiVersion: 'apps/v1', kind: 'ReplicaSet', controller: true });
  const status = await eventually(async () => {
    const s = (await api.resource(replicaSets).get('default', 'api')).status;
    return s?.replicas === 2 ? s : undefined;
  });
  t.equal(status?.fullyLabeledReplicas, 2, 'the stray carries the template labels too');
  await api.resource(pods).patch('default', 'stray', { metadata: { labels: { app: 'gone' } } });
  t.ok(await eventually(async () => !(await api.resource(pods).get('default', 'stray')).metadata?.ownerReferences?.length), 'released');
});
