// Snapshots of the SQLite datastore: names, listing, deletion, pruning; an online copy taken while
// writes go on holds every write acknowledged before it began; the file of a running server is left
// to that server; a restore moves the old database aside, and revisions go on above both.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { CompactedError, openSqliteStore, StoreOpenError } from '../../src/store/index.js';
import {
  deleteSnapshots,
  listSnapshots,
  pruneSnapshots,
  restoreSnapshot,
  saveSnapshot,
  saveSnapshotOfFile,
  snapshotName,
  snapshotTable,
  SnapshotError,
  SnapshotUsageError,
} from '../../src/store/snapshot.js';
import type { KineStore } from '../../src/store/kine.js';
import { tempDir } from '../helpers/tmp.js';
import { b, newStore } from './helpers.js';

t.test("K3s's names: <name>-<node>-<unix seconds>; a name with a path in it is refused", async (t) => {
  t.equal(snapshotName('on-demand', 'pi1', new Date(1_700_000_000_999)), 'on-demand-pi1-1700000000');
  for (const bad of ['../x', 'a/b', '', '-x', 'a b']) t.throws(() => snapshotName(bad, 'pi1'), SnapshotUsageError, bad);
});

t.test('ls lists oldest first with K3s columns; delete and prune', async (t) => {
  const dir = tempDir(t);
  t.same(listSnapshots(path.join(dir, 'none')), [], 'no folder yet: no snapshots');
  const names = [
    'on-demand-pi1-1700000300',
    'on-demand-pi1-1700000100',
    'etcd-snapshot-pi1-1700000000',
    'on-demand-pi1-1700000200',
    'etcd-snapshot-pi1-1700000400',
  ];
  for (const n of names) fs.writeFileSync(path.join(dir, n), 'x'.repeat(n.length));
  fs.writeFileSync(path.join(dir, 'on-demand-pi1-1700000500.tmp'), 'partial copy');
  const listed = listSnapshots(dir);
  t.same(
    listed.map((f) => f.name),
    [names[2], names[1], names[3], names[0], names[4]],
  );
  t.equal(listed[0]!.location, `file://${path.join(dir, names[2]!)}`);
  t.equal(listed[0]!.created.toISOString(), '2023-11-14T22:13:20.000Z', 'created from the time in the name');
  const table = snapshotTable(listed).split('\n');
  t.match(table[0], /^Name +Location +Size +Created$/);
  t.match(table[1], new RegExp(`^etcd-snapshot-pi1-1700000000 +file://${dir}/etcd-snapshot-pi1-1700000000 +28 +2023-11-14T22:13:20Z$`));

  t.same(
    pruneSnapshots(dir, 'on-demand', 1).map((f) => path.basename(f)),
    ['on-demand-pi1-1700000100', 'on-demand-pi1-1700000200'],
    'the newest one of that name stays',
  );
  t.same(
    listSnapshots(dir).map((f) => f.name),
    [names[2], names[0], names[4]],
    'the other name is untouched',
  );
  t.throws(() => pruneSnapshots(dir, 'on-demand', 0), SnapshotUsageError);

  t.throws(() => deleteSnapshots(dir, [names[2]!, 'on-demand-pi1-1']), SnapshotError, 'a missing one: nothing deleted');
  t.equal(listSnapshots(dir).length, 3);
  t.throws(() => deleteSnapshots(dir, ['../etc']), SnapshotUsageError);
  deleteSnapshots(dir, [names[2]!, names[4]!]);
  t.same(
    listSnapshots(dir).map((f) => f.name),
    [names[0]],
  );
});

t.test('an online snapshot taken during writes holds every write acknowledged before it began', async (t) => {
  const { store } = await newStore(t);
  const dir = tempDir(t);
  const acked: string[] = [];
  let stop = false;
  // Writers that go on before, during and after the copy; updates and deletes churn other keys.
  const writers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const key = `/registry/w${w}/k${i}`;
      await store.create(key, b(`v${i}`.repeat(50)));
      acked.push(key);
      if (i > 0) {
        const prev = `/registry/w${w}/k${i - 1}`;
        await store.update(prev, b('updated'));
      }
      await store.create(`/registry/tmp/w${w}-${i}`, b('x'));
      await store.delete(`/registry/tmp/w${w}-${i}`);
    }
  });
  while (acked.length < 2000) await new Promise((r) => setImmediate(r));
  const before = [...acked];
  const file = await saveSnapshot(store as KineStore, dir, snapshotName('on-demand', 'test'));
  const during = acked.length - before.length;
  stop = true;
  await Promise.all(writers);
  t.ok(during > 0, `writes went on during the copy (${during} acknowledged)`);
  t.equal(fs.existsSync(`${file.path}-wal`), false, 'the snapshot is one file');

  const copy = path.join(tempDir(t), 'state.db');
  fs.copyFileSync(file.path, copy);
  const restored = await openSqliteStore({ file: copy });
  t.teardown(() => restored.close());
  const missing = [];
  for (const key of before) if (!(await restored.get(key))) missing.push(key);
  t.same(missing, [], `all ${before.length} keys written before the snapshot are in it`);
});

t.test("a running server's file is its own to copy; a stopped one's is copied directly", async (t) => {
  const { store, file } = await newStore(t);
  const dir = tempDir(t);
  await store.create('/registry/a', b('1'));
  t.equal(await saveSnapshotOfFile(file, dir, 'on-demand-x-1'), undefined, 'locked: left to the server');
  await store.close();
  const saved = await saveSnapshotOfFile(file, dir, 'on-demand-x-1');
  t.equal(saved?.name, 'on-demand-x-1');
  await t.rejects(saveSnapshotOfFile(file, dir, 'on-demand-x-1'), SnapshotError, 'no overwriting');
  await t.rejects(saveSnapshotOfFile(path.join(dir, 'nope.db'), dir, 'on-demand-x-2'), SnapshotError, 'no datastore');
  const db = new Database(saved!.path, { readonly: true });
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM kine').get() as { n: number }).n, 1);
  db.close();
});

t.test('restore: refused while the server runs; moves the old database aside; revisions go on above both', async (t) => {
  const { store, file } = await newStore(t);
  const dir = tempDir(t);
  await store.create('/registry/keep', b('1'));
  await store.create('/registry/gone', b('1'));
  await store.update('/registry/keep', b('2'));
  const snap = await saveSnapshot(store as KineStore, dir, 'on-demand-x-1');
  await store.delete('/registry/gone');
  await store.create('/registry/later', b('1'));
  const oldRev = store.currentRevision();

  t.throws(() => restoreSnapshot(file, snap.path), StoreOpenError, 'refused: the server holds the file');
  t.throws(() => restoreSnapshot(file, path.join(dir, 'missing')), SnapshotUsageError);
  const junk = path.join(dir, 'junk');
  fs.writeFileSync(junk, 'not a database at all, really not');
  t.throws(() => restoreSnapshot(file, junk), SnapshotError);
  await store.close();

  const { oldDir, revision } = restoreSnapshot(file, snap.path);
  t.ok(oldDir && fs.existsSync(path.join(oldDir, 'state.db')), 'the old database is kept');
  t.ok(revision > oldRev);
  const back = await openSqliteStore({ file });
  t.teardown(() => back.close());
  t.equal((await back.get('/registry/keep'))?.value.toString(), '2');
  t.ok(await back.get('/registry/gone'), 'deleted after the snapshot: back');
  t.notOk(await back.get('/registry/later'), 'created after the snapshot: not there');
  t.equal(back.currentRevision(), revision);
  t.throws(() => back.watch('/registry/', { fromRevision: oldRev }), CompactedError, 'an old watch relists');
  const w = await back.update('/registry/keep', b('3'));
  t.ok(w.revision > oldRev, 'new writes get revisions never used before');
});

t.test('after compaction the WAL is truncated and freed pages go back to the file system', async (t) => {
  const { store, file } = await newStore(t);
  const big = b('x'.repeat(2000));
  for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 100 }, (_, i) => store.create(`/r/${round}/${i}`, big)));
  for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 100 }, (_, i) => store.delete(`/r/${round}/${i}`)));
  const full = fs.statSync(file).size + fs.statSync(`${file}-wal`).size;
  await store.compact();
  await (store as KineStore).reclaim();
  t.equal(fs.statSync(`${file}-wal`).size, 0, 'the WAL is empty');
  const after = fs.statSync(file).size;
  t.ok(after * 10 < full, `the file shrank: ${full} -> ${after} bytes`);
});
