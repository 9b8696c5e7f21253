// Two `skiff server`s sharing one MariaDB (--datastore-endpoint mysql://, K3s's form with a unix
// socket): one cluster with one CA, and what one writes the other serves and streams to a watch.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startMysql } from '../helpers/mysql.js';

t.test('two servers share one MySQL datastore', async (t) => {
  const endpoint = await (await startMysql(t)).newDatabase();
  const args = ['--datastore-endpoint', endpoint, '--token', 'mysql-shared'];
  const a = await startCluster(t, args);
  const b = await startCluster(t, args);
  const ca = (dataDir: string) => fs.readFileSync(path.join(dataDir, 'server', 'tls', 'server-ca.crt'), 'utf8');
  t.equal(ca(b.dataDir), ca(a.dataDir), "B took A's CA from the datastore");

  await a.k('create', 'configmap', 'from-a', '--from-literal=k=v');
  t.equal(await b.k('get', 'configmap', 'from-a', '-o', 'jsonpath={.data.k}'), 'v', 'created through A, read through B at once');
  await b.k('create', 'deployment', 'web', '--image=registry.invalid/web:1', '--replicas=2');
  await eventually(async () => (await a.k('get', 'pods', '-l', 'app=web', '-o', 'name')).trim().split('\n').length === 2, {
    what: "the deployment's two pods, made by the one controller manager",
  });
});
