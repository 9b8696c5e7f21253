import { spawn } from 'node:child_process';
import t from 'tap';
import { KUBECTL_WATCHING, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startHollowNodes } from '../helpers/hollow.js';

t.test('a StatefulSet scales in order, keeps its names and claims, and rolls from the top', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1', 'n2']);
  // Every pod event, in the order the server sends them.
  const watch = spawn(
    'kubectl',
    [
      '--kubeconfig',
      c.kubeconfig,
      '-v=6',
      'get',
      'pods',
      '-l',
      'app=db',
      '--watch',
      '--output-watch-events',
      '-o',
      'jsonpath={.type} {.object.metadata.name} {.object.metadata.deletionTimestamp}{"\\n"}',
    ],
    { env: { PATH: process.env.PATH, HOME: c.dataDir } },
  );
  t.teardown(() => watch.kill());
  let events = '';
  let log = '';
  watch.stdout.on('data', (d: Buffer) => (events += d));
  watch.stderr.on('data', (d: Buffer) => (log += d));
  await eventually(() => KUBECTL_WATCHING.test(log), { what: 'kubectl get --watch to be watching', explain: () => log });

  const sts = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: {
      serviceName: 'db',
      replicas: 3,
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'busybox' }] } },
      volumeClaimTemplates: [
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
      ],
    },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(sts) });
  t.match(await c.k('rollout', 'status', 'statefulset/db', '--timeout=60s'), /roll out complete: 3 new pods have been updated/);
  const added = events
    .split('\n')
    .filter((l) => l.startsWith('ADDED'))
    .map((l) => l.split(' ')[1]);
  t.same(added, ['db-0', 'db-1', 'db-2'], 'created one at a time, in order');
  t.same((await c.k('get', 'pvc', '-o', 'name')).trim().split('\n'), [
    'persistentvolumeclaim/data-db-0',
    'persistentvolumeclaim/data-db-1',
    'persistentvolumeclaim/data-db-2',
  ]);
  t.equal(
    await c.k('get', 'pod', 'db-1', '-o', 'jsonpath={.spec.hostname}.{.spec.subdomain} {.spec.volumes[0].persistentVolumeClaim.claimName}'),
    'db-1.db data-db-1',
  );

  events = '';
  await c.k('scale', 'statefulset', 'db', '--replicas=1');
  t.ok(await eventually(async () => (await c.k('get', 'pods', '-l', 'app=db', '-o', 'name')).trim() === 'pod/db-0'), 'scaled down to db-0');
  const deleted = events
    .split('\n')
    .filter((l) => l.startsWith('DELETED'))
    .map((l) => l.split(' ')[1]);
  t.same(deleted, ['db-2', 'db-1'], 'removed from the highest ordinal down');
  t.equal((await c.k('get', 'pvc', '-o', 'name')).trim().split('\n').length, 3, 'claims stay for when the pods come back');

  await c.k('scale', 'statefulset', 'db', '--replicas=3');
  t.match(await c.k('rollout', 'status', 'statefulset/db', '--timeout=60s'), /roll out complete/);
  await c.k('set', 'image', 'statefulset/db', 'db=busybox:1.37');
  t.match(await c.k('rollout', 'status', 'statefulset/db', '--timeout=60s'), /roll out complete: 3 new pods have been updated/);
  t.equal(
    await c.k('get', 'pods', '-l', 'app=db', '-o', 'jsonpath={.items[*].spec.containers[0].image}'),
    'busybox:1.37 busybox:1.37 busybox:1.37',
  );
  t.match(await c.k('rollout', 'history', 'statefulset/db'), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);

  // A partition holds the ordinals below it back.
  await c.k('patch', 'statefulset', 'db', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}');
  await c.k('set', 'image', 'statefulset/db', 'db=busybox:1.38');
  t.match(await c.k('rollout', 'status', 'statefulset/db', '--timeout=60s'), /partitioned roll out complete: 1 new pods have been updated/);
  const images = await c.k(
    'get',
    'pods',
    '-l',
    'app=db',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name}={.spec.containers[0].image} {end}',
  );
  t.same(images.trim().split(' ').sort(), ['db-0=busybox:1.37', 'db-1=busybox:1.37', 'db-2=busybox:1.38']);
});
