// Two `skiff server`s sharing an external etcd cluster of three members (--datastore-endpoint with
// each member's URL, as K3s takes it): one cluster with one CA, what one writes the other serves,
// and they go on when the etcd member they were talking to dies.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startEtcd } from '../helpers/etcd.js';

t.test('two servers on an external etcd cluster', async (t) => {
  const etcd = await startEtcd(t, { members: 3 });
  const args = ['--datastore-endpoint', etcd.endpoints.join(','), '--token', 'external-etcd'];
  const a = await startCluster(t, args);
  const b = await startCluster(t, args);
  const ca = (dataDir: string) => fs.readFileSync(path.join(dataDir, 'server', 'tls', 'server-ca.crt'), 'utf8');
  t.equal(ca(b.dataDir), ca(a.dataDir), "B took A's CA from the datastore");

  await a.k('create', 'configmap', 'from-a', '--from-literal=k=v');
  t.equal(await b.k('get', 'configmap', 'from-a', '-o', 'jsonpath={.data.k}'), 'v', 'created through A, read through B');

  await (await etcd.leader()).stop('SIGKILL');
  await eventually(async () => (await b.k('create', 'configmap', `after-kill-${Date.now()}`, '--from-literal=k=v')).length > 0, {
    what: 'B to write again once etcd has a new leader',
  });
  t.match(await a.k('get', 'configmaps', '-o', 'name'), /configmap\/after-kill-/, 'A reads what B wrote after the kill');
});
