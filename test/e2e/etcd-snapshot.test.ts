// Snapshots of a server on embedded etcd, end to end: `skiff snapshot save` on the running server
// writes etcd's snapshot (checked against its sha256), `skiff server --cluster-reset
// --cluster-reset-restore-path` makes the member anew from it (the old data kept aside) and stops,
// as K3s's does; started again without the flags the cluster is as it was at the snapshot. A plain
// --cluster-reset keeps the data and makes the member a cluster of itself alone.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { createNetLab } from '../helpers/netlab.js';
import { repoRoot, runSkiff } from '../helpers/run.js';
import { checkEtcdSnapshot } from '../../src/store/etcd-snapshot.js';

t.test('embedded etcd: save on the running server, restore with --cluster-reset-restore-path, reset', async (t) => {
  // A host of its own: the member takes 2379 and 2380 on the host's address and loopback.
  const [host] = createNetLab(t, 1).hosts;
  const flags = ['--cluster-init', '--node-name', 'etcd-snap', '--token', 'snap-test'];
  const c = await startCluster(t, flags, { host });
  await c.k('create', 'configmap', 'kept', '--from-literal=k=before');

  const common = ['--data-dir', c.dataDir, '--config', '/dev/null'];
  const saved = await runSkiff(['etcd-snapshot', 'save', '--server', c.url, ...common]);
  t.equal(saved.code, 0, saved.stderr);
  const name = /^Snapshot (on-demand-etcd-snap-\d+) saved\.\n$/.exec(saved.stdout)?.[1];
  t.ok(name, `K3s's line and name: ${saved.stdout.trim()}`);
  const file = path.join(c.dataDir, 'server', 'db', 'snapshots', name!);
  t.doesNotThrow(() => checkEtcdSnapshot(file), "etcd's snapshot, whole");
  t.match((await runSkiff(['snapshot', 'ls', ...common])).stdout, name!);

  await c.k('patch', 'configmap', 'kept', '-p', '{"data":{"k":"after"}}');
  await c.k('create', 'configmap', 'newer', '--from-literal=k=1');
  const offline = await runSkiff(['snapshot', 'restore', name!, ...common]);
  t.equal(offline.code, 2);
  t.match(offline.stderr, /this server runs embedded etcd: restore with skiff server --cluster-reset --cluster-reset-restore-path/);

  // The reset runs as the server would (in its host, the same flags) and stops by itself.
  await c.stop();
  const server = async (...extra: string[]) =>
    host!.exec(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repoRoot, 'src/cli/main.ts'),
        'server',
        ...common,
        '--https-listen-port',
        '6443',
        '--bind-address',
        host!.ip,
        '--disable-agent',
        ...flags,
        ...extra,
      ],
      { timeoutMs: 120_000 },
    );
  const restored = await server('--cluster-reset', `--cluster-reset-restore-path=${file}`);
  t.equal(restored.code, 0, restored.stderr);
  t.match(restored.stdout + restored.stderr, /Managed etcd cluster membership has been reset, restart without --cluster-reset now/);
  t.ok(
    fs.readdirSync(path.join(c.dataDir, 'server', 'db')).some((f) => f.startsWith('etcd-old-')),
    'the old data is kept aside',
  );

  await c.restart();
  t.equal(await c.k('get', 'configmap', 'kept', '-o', 'jsonpath={.data.k}'), 'before', 'as at the snapshot');
  t.match((await c.kubectl(['get', 'configmap', 'newer'])).stderr, /NotFound/, 'created after it: gone');
  await c.k('create', 'configmap', 'after-restore', '--from-literal=k=1');

  await c.stop();
  const reset = await server('--cluster-reset');
  t.equal(reset.code, 0, reset.stderr);
  await c.restart();
  t.equal(await c.k('get', 'configmap', 'after-restore', '-o', 'name'), 'configmap/after-restore\n', 'a reset keeps the data');
});
