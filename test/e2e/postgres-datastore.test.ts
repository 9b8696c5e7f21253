// Two `skiff server` processes (own data dirs and ports) sharing one Postgres: what one writes the
// other serves and streams to its watchers, and the controllers run once, on the elected leader.
import { spawn } from 'node:child_process';
import t from 'tap';
import { KUBECTL_WATCHING, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

t.test('two servers share one Postgres datastore', async (t) => {
  const endpoint = await (await startPostgres(t)).newDatabase();
  const a = await startCluster(t, ['--datastore-endpoint', endpoint]);
  const b = await startCluster(t, ['--datastore-endpoint', endpoint]);

  await a.k('create', 'configmap', 'from-a', '--from-literal=k=v');
  t.equal(await b.k('get', 'configmap', 'from-a', '-o', 'jsonpath={.data.k}'), 'v', 'created through A, read through B');

  const watch = spawn('kubectl', ['--kubeconfig', b.kubeconfig, 'get', 'configmaps', '--watch', '-o', 'name', '-v=6'], {
    env: { PATH: process.env.PATH, HOME: tempDir(t) },
  });
  t.teardown(() => watch.kill());
  let out = '';
  let log = '';
  watch.stdout.on('data', (d: Buffer) => (out += d));
  watch.stderr.on('data', (d: Buffer) => (log += d));
  await eventually(() => KUBECTL_WATCHING.test(log), { what: 'kubectl get --watch on B to be watching', explain: () => log });
  await a.k('create', 'configmap', 'written-on-a', '--from-literal=k=v');
  await eventually(() => out.includes('configmap/written-on-a'), { what: "B's watch to see A's write", explain: () => out });

  await a.k('create', 'deployment', 'web', '--image=registry.invalid/web:1', '--replicas=2');
  const pods = async () => (await b.k('get', 'pods', '-l', 'app=web', '-o', 'name')).split('\n').filter(Boolean);
  await eventually(async () => (await pods()).length >= 2, { what: 'the pods of the deployment' });
  await eventually(async () => (await b.k('get', 'rs', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.replicas}')) === '2', {
    what: 'the ReplicaSet to count its pods',
  });
  t.equal((await b.k('get', 'rs', '-l', 'app=web', '-o', 'name')).trim().split('\n').length, 1, 'one ReplicaSet');
  t.equal((await pods()).length, 2, 'two pods: one controller manager made them, not one per server');
});
