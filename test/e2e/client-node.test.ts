import t from 'tap';
import { spawnTs, finish } from '../helpers/run.js';
import { startCluster } from '../helpers/cluster.js';

t.test('@kubernetes/client-node lists and watches', async (t) => {
  const c = await startCluster(t);
  await c.k('create', 'configmap', 'existing', '--from-literal=x=1');
  const r = await finish(spawnTs('test/e2e/fixtures/client-node-program.ts', [c.kubeconfig]));
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.match(lines[0], /^listed existing,kube-root-ca\.crt at \d+$|^listed existing at \d+$/);
  t.same(
    lines.filter((l) => l.startsWith('event')),
    ['event ADDED from-program', 'event MODIFIED from-program', 'event DELETED from-program'],
  );
});
