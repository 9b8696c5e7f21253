import t from 'tap';
import { API_ONLY, startCluster } from '../helpers/cluster.js';

t.test('objects survive SIGKILL of the server; watches resume from their resourceVersion', async (t) => {
  const c = await startCluster(t, API_ONLY);
  await c.k('create', 'namespace', 'keep');
  for (let i = 0; i < 20; i++) await c.k('-n', 'keep', 'create', 'configmap', `cm-${i}`, `--from-literal=i=${i}`);
  await c.k('-n', 'keep', 'apply', '-f', 'test/e2e/fixtures/deployment.yaml');
  const rv = JSON.parse(await c.k('get', '--raw', '/api/v1/namespaces/keep/configmaps')).metadata.resourceVersion as string;
  t.match(rv, /^\d+$/);
  await c.k('-n', 'keep', 'delete', 'configmap', 'cm-0');
  const uidBefore = await c.k('get', 'namespace', 'keep', '-o', 'jsonpath={.metadata.uid}');
  t.match(uidBefore, /^[0-9a-f-]{36}$/);

  await c.restart();
  const names = (await c.k('-n', 'keep', 'get', 'configmaps', '-o', 'name')).trim().split('\n').sort();
  t.equal(names.length, 19);
  t.notOk(names.includes('configmap/cm-0'));
  t.match(await c.k('-n', 'keep', 'get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}'), '2');
  t.equal(
    await c.k('get', 'namespace', 'keep', '-o', 'jsonpath={.metadata.uid}'),
    uidBefore,
    'the same namespace, not a new one of the same name',
  );

  // A watch from before the restart replays what happened since.
  const watch = await c.kubectl(['get', '--raw', `/api/v1/namespaces/keep/configmaps?watch=1&resourceVersion=${rv}&timeoutSeconds=1`]);
  t.equal(watch.code, 0, watch.stderr);
  const events = watch.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
  t.same(
    events.map((e) => `${e.type} ${e.object.metadata.name}`),
    ['DELETED cm-0'],
  );
});
