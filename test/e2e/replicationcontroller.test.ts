// ReplicationControllers through the real kubectl: created from YAML, listed, described, scaled,
// adopting an orphan, deleted with --cascade=orphan (pods stay and are adopted again) and with the
// default cascade (the garbage collector removes the pods), on two hollow nodes.
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startHollowNodes } from '../helpers/hollow.js';

const manifest = (replicas: number) => `apiVersion: v1
kind: ReplicationController
metadata:
  name: web
spec:
  replicas: ${replicas}
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: c
        image: busybox
`;

t.test('a ReplicationController from YAML: get, describe, scale, adopt, orphan and cascade', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1', 'n2']);
  const running = async () =>
    (await c.k('get', 'pods', '-l', 'app=web', '--field-selector=status.phase=Running', '-o', 'name'))
      .trim()
      .split('\n')
      .filter(Boolean)
      .sort();
  const rcRow = async (want: string) => {
    const out = await c.k('get', 'rc', 'web');
    return new RegExp(`^web\\s+${want}\\s+\\d+[smh]\\S*\\n$`, 'm').test(out) ? out : undefined;
  };

  // An orphan with the controller's labels, there first: the controller adopts it and makes two more.
  await c.k('run', 'stray', '--image=busybox', '--labels=app=web');
  t.ok(await eventually(async () => (await running()).length === 1), 'the orphan runs');
  t.equal(await c.kubectl(['create', '-f', '-'], { input: manifest(3) }).then((r) => r.stdout), 'replicationcontroller/web created\n');
  const three = await eventually(async () => ((await running()).length === 3 ? running() : undefined));
  t.equal(three?.length, 3, 'three pods run');
  t.ok(three?.includes('pod/stray'), 'the orphan is one of them');
  t.match(
    await c.k(
      'get',
      'pod',
      'stray',
      '-o',
      'jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].controller}',
    ),
    'ReplicationController/web true',
  );
  t.match(await eventually(() => rcRow('3\\s+3\\s+3')), /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\n/);
  t.match(
    await c.k('get', 'rc', 'web', '-o', 'wide'),
    /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\nweb\s+3\s+3\s+3\s+\d+[smh]\S*\s+c\s+busybox\s+app=web\n$/,
  );
  t.match(await c.k('get', 'all'), /replicationcontroller\/web\s+3\s+3\s+3\s+/, 'listed under `all`');

  t.equal(await c.k('scale', 'rc', 'web', '--replicas=5'), 'replicationcontroller/web scaled\n');
  t.ok(await eventually(() => rcRow('5\\s+5\\s+5')), 'scaled up: 5 desired, current and ready');
  t.equal((await running()).length, 5);
  const described = await eventually(async () => {
    const out = await c.k('describe', 'rc', 'web');
    return /Pods Status:\s+5 Running/.test(out) ? out : undefined;
  });
  t.match(described, /Selector:\s+app=web/);
  t.match(described, /Replicas:\s+5 current \/ 5 desired/);
  t.match(described, /Normal\s+SuccessfulCreate\s+.*replication-controller\s+Created pod: web-\w+/);
  t.equal(
    await c.k('get', 'rc', 'web', '-o', 'jsonpath={.status.availableReplicas} {.status.fullyLabeledReplicas} {.status.observedGeneration}'),
    '5 5 2',
  );

  t.equal(await c.k('scale', 'rc', 'web', '--replicas=2'), 'replicationcontroller/web scaled\n');
  t.ok(
    await eventually(async () => (await c.k('get', 'pods', '-l', 'app=web', '-o', 'name')).trim().split('\n').filter(Boolean).length === 2),
    'scaled down to two',
  );

  // Orphaned: the controller goes, its pods stay, owned by nobody; a new one adopts them.
  await c.k('delete', 'rc', 'web', '--cascade=orphan');
  const orphans = await eventually(async () => {
    const out = await c.k(
      'get',
      'pods',
      '-l',
      'app=web',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.metadata.ownerReferences}{"\\n"}{end}',
    );
    const lines = out.trim().split('\n');
    return lines.length === 2 && lines.every((l) => l.endsWith('=')) ? lines : undefined;
  });
  t.equal(orphans?.length, 2, 'both pods stay, without owners');
  await c.kubectl(['create', '-f', '-'], { input: manifest(2) });
  t.ok(
    await eventually(
      async () =>
        (await c.k('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.ownerReferences[0].kind}')) ===
        'ReplicationController ReplicationController',
    ),
    'the new controller adopts them',
  );
  t.same(await running(), orphans!.map((l) => `pod/${l.slice(0, -1)}`).sort(), 'the same two pods, none new');

  // The default cascade: the garbage collector removes the pods.
  t.equal(await c.k('delete', 'rc', 'web'), 'replicationcontroller "web" deleted\n');
  t.ok(await eventually(async () => (await c.k('get', 'pods', '-l', 'app=web', '-o', 'name')) === ''), 'the pods go with it');
});

t.test('a ReplicationController whose template does not match its selector is refused', async (t) => {
  const c = await startCluster(t, ['--disable-controller-manager', '--disable-scheduler']);
  const bad = manifest(1).replace('  replicas: 1\n', '  replicas: 1\n  selector:\n    app: other\n');
  const r = await c.kubectl(['create', '-f', '-'], { input: bad });
  t.equal(r.code, 1);
  t.match(
    r.stderr,
    new RegExp(
      [
        'The ReplicationController "web" is invalid: spec.template.metadata.labels: ' +
          'Invalid value: map\\[string\\]string\\{"app":"web"\\}: `selector` does not match template `labels`',
        'The ReplicationController "web" is invalid: spec.template.metadata.labels: ' +
          'Invalid value: \\{"app":"web"\\}: `selector` does not match template `labels`',
      ].join('|'),
    ),
  );
});
