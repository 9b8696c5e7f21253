import fs from 'node:fs';
import t from 'tap';
import { CompactedError } from '../../src/store/index.js';
import { b, newStore } from './helpers.js';
import { eventually } from '../helpers/eventually.js';

// Revisions are asserted relative to r0, the store's revision when it opens (0 on SQLite, 1 on etcd).

t.test('compaction removes history but keeps the current state', async (t) => {
  const { store } = await newStore(t);
  const r0 = store.currentRevision();
  await store.create('/a', b('1'));
  await store.update('/a', b('2'));
  await store.create('/b', b('1'));
  await store.delete('/b');
  await store.create('/c', b('1'));
  const rev = store.currentRevision();
  t.equal(await store.compact(), rev);
  t.equal(store.compactRevision(), rev);
  t.equal((await store.get('/a'))!.value.toString(), '2');
  t.equal(await store.get('/b'), undefined);
  t.same(
    (await store.list('/')).items.map((kv) => kv.key),
    ['/a', '/c'],
  );
  await t.rejects(store.get('/a', { revision: r0 + 1 }), CompactedError);
  await store.update('/a', b('3'));
  t.equal(store.currentRevision(), rev + 1, 'revisions continue after compaction');
});

t.test('a write after compaction still reports the compacted previous value', async (t) => {
  const { store } = await newStore(t);
  await store.create('/k', b('kept'));
  await store.update('/k', b('latest'));
  await store.compact();
  const events: string[] = [];
  const w = store.watch('/k', { fromRevision: store.currentRevision() + 1 });
  await store.delete('/k');
  for await (const batch of w) {
    for (const e of batch) events.push(`${e.type} prev=${e.prev?.value.toString()}`);
    break;
  }
  t.same(events, ['delete prev=latest']);
});

t.test('compacting in steps and at an older revision', async (t) => {
  const { store } = await newStore(t);
  const r0 = store.currentRevision();
  for (let i = 0; i < 30; i++) await store.update('/hot', b(String(i))).catch(() => store.create('/hot', b(String(i))));
  t.equal(await store.compact(r0 + 10), r0 + 10);
  t.equal(await store.compact(r0 + 5), r0 + 10, 'compacting below the compacted revision is a no-op');
  t.equal((await store.get('/hot', { revision: r0 + 11 }))!.value.toString(), '10');
  await t.rejects(store.get('/hot', { revision: r0 + 10 }), CompactedError);
});

t.test('automatic compaction keeps one interval of history', async (t) => {
  const { store } = await newStore(t, { compactIntervalMs: 100 });
  const r0 = store.currentRevision();
  await store.create('/x', b('1'));
  await store.update('/x', b('2'));
  await eventually(() => store.compactRevision() >= r0 + 2, { timeout: 10_000, what: 'an automatic compaction' });
  t.equal(store.compactRevision(), r0 + 2, 'history from before the previous tick is compacted');
  const { revision } = await store.update('/x', b('3'));
  t.equal((await store.get('/x', { revision }))!.value.toString(), '3');
});

t.test('defragment: after compaction, removed values are in neither the database file nor its WAL', async (t) => {
  const { store, file } = await newStore(t);
  if (!file) return t.pass('only SQLite has files to look into');
  const gone = 'removed-value-4c1f9e';
  const kept = 'current-value-77ab02';
  // Enough rows that the removed ones sit on pages of their own, and the WAL holds them first.
  for (let i = 0; i < 200; i++) await store.create(`/old/${i}`, b(`${gone}-${i}-${'x'.repeat(200)}`));
  await store.create('/k', b(gone));
  await store.update('/k', b(kept));
  for (let i = 0; i < 200; i++) await store.delete(`/old/${i}`);
  const raw = () => Buffer.concat([fs.readFileSync(file), fs.existsSync(`${file}-wal`) ? fs.readFileSync(`${file}-wal`) : Buffer.alloc(0)]);
  t.ok(raw().includes(gone), 'before: the removed values are on disk (the grep looks in the right place)');
  await store.compact();
  await store.defragment();
  t.notOk(raw().includes(gone), 'after: no byte of them is left');
  t.ok(raw().includes(kept), 'the current value is there');
  t.equal((await store.get('/k'))!.value.toString(), kept);
  await store.update('/k', b('after-defragment'));
  t.equal((await store.get('/k'))!.value.toString(), 'after-defragment', 'the store goes on working');
});
