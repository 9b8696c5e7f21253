// Snapshots end to end through a real `skiff server`, kubectl and `skiff snapshot` (and its K3s name
// `skiff etcd-snapshot`): save on the running server, ls, objects deleted after it come back with
// `skiff server --cluster-reset --cluster-reset-restore-path`, a restore is refused while a server
// runs, prune and delete; bad names and missing files are one line.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { API_ONLY, startCluster, type Cluster } from '../helpers/cluster.js';
import { runSkiff, type RunResult } from '../helpers/run.js';

const snap = (c: Cluster, ...args: string[]): Promise<RunResult> =>
  runSkiff(['snapshot', ...args, '--data-dir', c.dataDir, '--config', '/dev/null']);

async function ok(c: Cluster, ...args: string[]): Promise<string> {
  const r = await snap(c, ...args);
  if (r.code !== 0) throw new Error(`skiff snapshot ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

t.test('save, ls, restore with --cluster-reset --cluster-reset-restore-path, prune, delete', async (t) => {
  const c = await startCluster(t, [...API_ONLY, '--node-name', 'snapnode']);
  const dir = path.join(c.dataDir, 'server', 'db', 'snapshots');
  await c.k('create', 'configmap', 'kept', '--from-literal=k=before');
  await c.k('create', 'configmap', 'doomed', '--from-literal=k=1');
  await c.k('create', 'namespace', 'team');

  const saved = await ok(c, 'save', '--server', c.url);
  const name = /^Snapshot (on-demand-snapnode-\d+) saved\.\n$/.exec(saved)?.[1];
  t.ok(name, `K3s's line and name: ${saved.trim()}`);
  const ls = (await ok(c, 'ls')).split('\n');
  t.match(ls[0], /^Name +Location +Size +Created$/);
  t.match(ls[1], new RegExp(`^${name} +file://${dir}/${name} +\\d+ +\\d{4}-\\d\\d-\\d\\dT`));

  await c.k('delete', 'configmap', 'doomed');
  await c.k('delete', 'namespace', 'team', '--wait=false');
  await c.k('patch', 'configmap', 'kept', '-p', '{"data":{"k":"after"}}');
  await c.k('create', 'configmap', 'newer', '--from-literal=k=1');

  const busy = await runSkiff([
    'server',
    '--data-dir',
    c.dataDir,
    '--config',
    '/dev/null',
    '--cluster-reset',
    `--cluster-reset-restore-path=${path.join(dir, name!)}`,
    '--disable-agent',
  ]);
  t.equal(busy.code, 1, 'a restore while the server runs is refused');
  t.match(busy.stderr.trim(), /^skiff: datastore .* is in use by a running skiff server: stop it before restoring$/);

  await c.stop();
  const missing = await runSkiff([
    'server',
    '--data-dir',
    c.dataDir,
    '--config',
    '/dev/null',
    '--cluster-reset',
    '--cluster-reset-restore-path=/nonexistent/snap',
  ]);
  t.equal(missing.code, 2);
  t.equal(missing.stderr, 'skiff: --cluster-reset-restore-path: no snapshot file /nonexistent/snap\n');

  const offline = await runSkiff(['etcd-snapshot', 'save', '--name', 'offline', '--data-dir', c.dataDir, '--config', '/dev/null']);
  t.equal(offline.code, 0, offline.stderr);
  t.match(offline.stdout, /^Snapshot offline-\S+-\d+ saved\.\n$/, 'a stopped server: the file is copied directly');

  // The server starts from the snapshot: the same server and flags, with K3s's two given through
  // the environment (SKIFF_<FLAG>, as every flag) for this one start.
  process.env.SKIFF_CLUSTER_RESET = 'true';
  process.env.SKIFF_CLUSTER_RESET_RESTORE_PATH = path.join(dir, name!);
  try {
    await c.restart();
  } finally {
    delete process.env.SKIFF_CLUSTER_RESET;
    delete process.env.SKIFF_CLUSTER_RESET_RESTORE_PATH;
  }
  const restored = c;
  t.match(restored.log(), /Restored the datastore from/);
  t.equal(await restored.k('get', 'configmap', 'kept', '-o', 'jsonpath={.data.k}'), 'before', 'as at the snapshot');
  t.equal(await restored.k('get', 'configmap', 'doomed', '-o', 'name'), 'configmap/doomed\n', 'deleted after it: back');
  t.match(await restored.k('get', 'namespace', 'team', '-o', 'jsonpath={.status.phase}'), 'Active');
  const newer = await restored.kubectl(['get', 'configmap', 'newer']);
  t.match(newer.stderr, /NotFound/, 'created after it: gone');
  t.ok(
    fs.readdirSync(path.join(c.dataDir, 'server', 'db')).some((f) => f.startsWith('sqlite-old-')),
    'the old database is kept aside',
  );
  await restored.k('create', 'configmap', 'after-restore', '--from-literal=k=1');

  // Two more; prune keeps the newest 1 of those whose name starts with second-, as K3s matches them.
  await ok(c, 'save', '--server', restored.url, '--name', 'second');
  await ok(c, 'save', '--server', restored.url, '--name', 'second-b');
  t.equal((await ok(c, 'ls')).trim().split('\n').length, 5, 'header, on-demand, offline, second, second-b');
  t.equal(await ok(c, 'prune', '--name', 'on-demand', '--snapshot-retention', '1'), '', 'one on-demand: nothing to prune');
  t.match(await ok(c, 'prune', '--name', 'second', '--etcd-snapshot-retention', '1'), /^Removing local snapshot \S+\n$/);
  const names = (await ok(c, 'ls'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/)[0]!);
  t.equal(names.filter((n) => n.startsWith('second-')).length, 1, 'one second- snapshot left');
  t.match(await ok(c, 'delete', ...names), /Removing local snapshot/);
  t.equal((await ok(c, 'ls')).trim().split('\n').length, 1, 'only the header left');

  const bad = await snap(c, 'save', '--server', restored.url, '--name', '../x');
  t.equal(bad.code, 2);
  t.equal(bad.stderr, `skiff: invalid snapshot name "../x": letters, digits, '.', '_' and '-' only\n`);
  const gone = await snap(c, 'delete', 'on-demand-nope-1');
  t.equal(gone.code, 1);
  t.equal(gone.stderr, `skiff: no snapshot on-demand-nope-1 in ${dir}\n`);
  const noFile = await snap(c, 'restore', '/nonexistent/snap');
  t.equal(noFile.code, 2);
});
