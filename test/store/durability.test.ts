import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import Database from 'better-sqlite3';
import { openSqliteStore, StoreOpenError } from '../../src/store/index.js';
import { SqliteLog } from '../../src/store/sqlite-log.js';
import { spawnTs, waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

t.test('every acknowledged write survives SIGKILL; the database stays intact', async (t) => {
  const file = path.join(tempDir(t), 'state.db');
  const child = spawnTs('test/store/fixtures/writer.ts', [file]);
  const acked = new Map<string, number>();
  let partial = '';
  await new Promise<void>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const [key, rev] = line.split(' ');
        acked.set(key!, Number(rev));
      }
      if (acked.size >= 400) resolve();
    });
    child.on('exit', () => resolve());
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));
  t.ok(acked.size >= 400, `the writer acknowledged ${acked.size} writes before it was killed`);

  const db = new Database(file, { readonly: true });
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
  const store = await openSqliteStore({ file });
  t.teardown(() => store.close());
  let missing = 0;
  for (const [key, rev] of acked) {
    const kv = await store.get(key);
    if (!kv || kv.value.toString() !== `updated ${key}` || kv.modRevision !== rev) missing++;
  }
  t.equal(missing, 0, 'no acknowledged write was lost');
});

t.test('a missing data dir is created', async (t) => {
  const file = path.join(tempDir(t), 'not', 'yet', 'there', 'state.db');
  const store = await openSqliteStore({ file });
  await store.close();
  t.ok(fs.existsSync(file));
});

t.test('a corrupt database is refused and left untouched', async (t) => {
  const dir = tempDir(t);
  const garbage = path.join(dir, 'garbage.db');
  fs.writeFileSync(garbage, Buffer.alloc(8192, 'not a database '));
  const before = fs.readFileSync(garbage);
  await t.rejects(openSqliteStore({ file: garbage }), { constructor: StoreOpenError, message: /garbage\.db is corrupt/ });
  t.same(fs.readFileSync(garbage), before, 'the file was not changed');

  // A real database whose pages were damaged in the middle.
  const damaged = path.join(dir, 'damaged.db');
  const store = await openSqliteStore({ file: damaged });
  for (let i = 0; i < 300; i++) await store.create(`/k/${i}`, Buffer.alloc(500, i % 256));
  await store.close();
  const bytes = fs.readFileSync(damaged);
  bytes.fill(0xa5, 4096 * 3, 4096 * 6);
  fs.writeFileSync(damaged, bytes);
  await t.rejects(openSqliteStore({ file: damaged }), { constructor: StoreOpenError, message: /damaged\.db is corrupt/ });
  t.same(fs.readFileSync(damaged), bytes, 'the damaged file was not changed');
});

t.test('a database held by a running server is refused', async (t) => {
  const file = path.join(tempDir(t), 'state.db');
  const holder = spawnTs('test/store/fixtures/hold-store.ts', [file]);
  t.teardown(() => holder.kill('SIGKILL'));
  await waitForLine(holder, /^ready$/);
  await t.rejects(openSqliteStore({ file }), { constructor: StoreOpenError, message: /in use by another running skiff server/ });
  holder.kill('SIGKILL');
  await new Promise((r) => holder.on('close', r));
  const store = await openSqliteStore({ file });
  t.ok(await store.get('/held'), 'once the holder died the lock was released and data is there');
  await t.rejects(openSqliteStore({ file }), StoreOpenError, 'a second open in the same process is refused too');
  await store.close();
});

t.test('a log opened with deferSync fsyncs each commit only from syncEachCommit on, and keeps what came before', async (t) => {
  const file = path.join(tempDir(t), 'state.db');
  const deferred = new SqliteLog(file, { deferSync: true });
  t.notOk(deferred.syncsEachCommit, 'commits are not fsynced one by one at first');
  deferred.append({ name: '/a', created: 1, deleted: 0, create_revision: 0, prev_revision: 0, lease: 0, value: Buffer.from('x') });
  deferred.syncEachCommit();
  t.ok(deferred.syncsEachCommit, 'then each is');
  deferred.close();
  const log = new SqliteLog(file);
  t.ok(log.syncsEachCommit, 'a log opened without it fsyncs each commit');
  t.equal(log.latest('/a')?.value.toString(), 'x');
  log.close();
});
