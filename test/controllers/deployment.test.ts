import t from 'tap';
import { deployments, replicaSets } from '../../src/client/resources.js';
import { withControllers } from './running.js';
import { eventually } from '../helpers/eventually.js';

// No scheduler and no nodes: pods never become available, so a rollout stays half done, which is
// where proportional scaling matters.
t.test('scaling a deployment mid-rollout resizes both ReplicaSets in proportion, within maxSurge', async (t) => {
  const { api } = await withControllers(t);
  const labels = { app: 'web' };
  await api.resource(deployments).create({
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 10,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  });
  const sizes = async () => {
    const sets = (await api.resource(replicaSets).list('default')).items;
    return Object.fromEntries(sets.map((rs) => [rs.spec!.template!.spec!.containers[0]!.image!, rs.spec!.replicas!]));
  };
  t.same(await eventually(async () => ((await sizes()).busybox === 10 ? sizes() : undefined)), { busybox: 10 });

  await api
    .resource(deployments)
    .patch('default', 'web', { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox:2' }] } } } }, 'strategic');
  // 25% surge (3) and 25% unavailable (2): the old set (none of it available) shrinks to 8 and the
  // new one grows into the room, to 5: 13 pods, 10 + 3, and there it stays.
  const stalled = await eventually(async () => {
    const s = await sizes();
    return s['busybox:2'] === 5 && s.busybox === 8 ? s : undefined;
  });
  t.same(stalled, { busybox: 8, 'busybox:2': 5 }, 'the rollout is stuck half way');

  await api.resource(deployments).patch('default', 'web', { spec: { replicas: 20 } });
  // Room for 25 (20 + 25% surge): the 12 more are shared 8:5, as the sets stood against their 13.
  const grown = await eventually(async () => {
    const s = await sizes();
    return s.busybox === 15 && s['busybox:2'] === 10 ? s : undefined;
  });
  t.same(grown, { busybox: 15, 'busybox:2': 10 }, 'both sets grew in proportion, to replicas + maxSurge in all');
  const rsList = (await api.resource(replicaSets).list('default')).items;
  t.ok(
    rsList.every((rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'] === '20'),
    'each set records the size it was scaled for',
  );

  await api.resource(deployments).patch('default', 'web', { spec: { replicas: 0 } });
  t.same(
    await eventually(async () => {
      const s = await sizes();
      return Object.values(s).every((n) => n === 0) ? s : undefined;
    }),
    { busybox: 0, 'busybox:2': 0 },
    'scaled to zero, every set goes to zero',
  );
});
