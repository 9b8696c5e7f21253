import t from 'tap';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startHollowNodes } from '../helpers/hollow.js';

const names = async (c: Cluster, ...args: string[]) => (await c.k('get', ...args, '-o', 'name')).trim().split('\n').filter(Boolean).sort();

t.test('cascading delete: background, foreground and orphan', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1', 'n2']);
  for (const d of ['bg', 'fg', 'orph']) {
    await c.k('create', 'deployment', d, '--image=busybox', '--replicas=2');
    await c.k('rollout', 'status', `deployment/${d}`, '--timeout=60s');
  }

  t.equal(await c.k('delete', 'deployment', 'bg'), 'deployment.apps "bg" deleted\n');
  t.ok(
    await eventually(async () => (await names(c, 'replicasets,pods', '-l', 'app=bg')).length === 0),
    'background: the ReplicaSet and its pods follow the deployment',
  );

  // Foreground: the deployment stays (with the foregroundDeletion finalizer) until its dependents are gone.
  const fg = await c.kubectl(['delete', 'deployment', 'fg', '--cascade=foreground', '--wait=false']);
  t.equal(fg.code, 0, fg.stderr);
  const fgGone = await eventually(async () => (await c.kubectl(['get', 'deployment', 'fg'])).code !== 0);
  t.ok(fgGone, 'the deployment goes once its dependents have');
  t.same(await names(c, 'replicasets,pods', '-l', 'app=fg'), [], 'and nothing of it is left');

  // Orphan: the ReplicaSet and pods stay, without an owner. A witness, deleted after it in the
  // background, shows when the garbage collector has dealt with what came before.
  await c.k('create', 'deployment', 'witness', '--image=busybox', '--replicas=0');
  await eventually(async () => (await names(c, 'replicasets', '-l', 'app=witness')).length === 1, { what: "the witness's ReplicaSet" });
  const orphans = await names(c, 'pods', '-l', 'app=orph');
  t.equal(await c.k('delete', 'deployment', 'orph', '--cascade=orphan'), 'deployment.apps "orph" deleted\n');
  const rs = await eventually(async () => {
    const out = await c.k(
      'get',
      'replicasets',
      '-l',
      'app=orph',
      '-o',
      'jsonpath={.items[0].metadata.name} {.items[0].metadata.ownerReferences}',
    );
    return out.endsWith(' ') ? out.trim() : undefined;
  });
  t.ok(rs, 'the ReplicaSet lost its owner reference and stays');
  await c.k('delete', 'deployment', 'witness');
  await eventually(async () => (await names(c, 'replicasets', '-l', 'app=witness')).length === 0, {
    what: "the witness's ReplicaSet to be collected",
  });
  t.equal((await names(c, 'pods', '-l', 'app=orph')).length, 2, 'its pods keep running');
  t.same(await names(c, 'pods', '-l', 'app=orph'), orphans, 'the very same pods');
});

t.test('namespaces: default ServiceAccount and kube-root-ca.crt everywhere; deleting one empties it', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1']);
  await c.k('create', 'namespace', 'app');
  t.ok(
    await eventually(async () => (await c.kubectl(['-n', 'app', 'get', 'serviceaccount', 'default'])).code === 0),
    'a default ServiceAccount appears',
  );
  const ca = await eventually(async () => c.k('-n', 'app', 'get', 'configmap', 'kube-root-ca.crt', '-o', 'jsonpath={.data.ca\\.crt}'));
  t.match(ca, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
  await c.k('-n', 'app', 'delete', 'serviceaccount', 'default');
  t.ok(
    await eventually(async () => (await c.kubectl(['-n', 'app', 'get', 'serviceaccount', 'default'])).code === 0),
    'and comes back when deleted',
  );

  await c.k('-n', 'app', 'create', 'deployment', 'web', '--image=busybox', '--replicas=3');
  await c.k('-n', 'app', 'create', 'configmap', 'settings', '--from-literal=a=1');
  await c.k('-n', 'app', 'rollout', 'status', 'deployment/web', '--timeout=60s');
  t.equal(await c.k('delete', 'namespace', 'app', '--timeout=60s'), 'namespace "app" deleted\n');
  const after = await c.kubectl(['get', 'namespace', 'app']);
  t.match(after.stderr, /namespaces "app" not found/);
  t.same(await names(c, 'pods,replicasets,deployments,configmaps', '-A', '--field-selector=metadata.namespace=app'), []);
  const denied = await c.kubectl(['-n', 'app', 'create', 'configmap', 'late']);
  t.match(denied.stderr, /namespaces "app" not found/);
});

t.test('the garbage collector follows owners of custom kinds created after it started', async (t) => {
  const c = await startCluster(t);
  await c.k('apply', '-f', 'test/e2e/fixtures/crd.yaml');
  await c.k('wait', '--for=condition=Established', 'crd/boats.skiff.example.com', '--timeout=30s');
  await c.kubectl(['apply', '-f', '-'], {
    input: 'apiVersion: skiff.example.com/v1\nkind: Boat\nmetadata:\n  name: dinghy\nspec:\n  length: 3\n',
  });
  const uid = await c.k('get', 'boat', 'dinghy', '-o', 'jsonpath={.metadata.uid}');
  const owned = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'dinghy-gear', ownerReferences: [{ apiVersion: 'skiff.example.com/v1', kind: 'Boat', name: 'dinghy', uid }] },
    data: { oars: '2' },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(owned) });
  await c.k('delete', 'boat', 'dinghy');
  t.ok(
    await eventually(async () => (await c.kubectl(['get', 'configmap', 'dinghy-gear'])).code !== 0, { timeout: 20_000 }),
    'the ConfigMap owned by the Boat goes with it',
  );
});
