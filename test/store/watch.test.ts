import t from 'tap';
import { CompactedError, WatcherTooSlowError } from '../../src/store/index.js';
import { b, newStore, summary, take } from './helpers.js';

// Revisions are asserted relative to r0, the store's revision when it opens (0 on SQLite, 1 on etcd).

t.test('watch replays history from a revision, then streams live events', async (t) => {
  const { store } = await newStore(t);
  const r0 = store.currentRevision();
  await store.create('/w/a', b('1'));
  const r2 = (await store.create('/w/b', b('1'))).revision;
  await store.update('/w/a', b('2'));
  await store.create('/elsewhere', b('x'));
  const w = store.watch('/w/', { fromRevision: r2 });
  t.same(summary(await take(w, 2)), [`put /w/b@${r0 + 2}=1`, `put /w/a@${r0 + 3}=2`]);
  await store.delete('/w/b');
  await store.create('/w/c', b('new'));
  const live = await take(w, 2);
  t.same(summary(live), [`delete /w/b@${r0 + 5}`, `put /w/c@${r0 + 6}=new`]);
  t.equal(live[0]!.prev!.value.toString(), '1', 'a delete carries the previous value');
  w.close();
});

t.test('replayed events carry the previous value', async (t) => {
  const { store } = await newStore(t);
  const r0 = store.currentRevision();
  await store.create('/k', b('one'));
  await store.update('/k', b('two'));
  await store.delete('/k');
  const events = await take(store.watch('/k', { fromRevision: r0 + 1 }), 3);
  t.same(summary(events), [`put /k@${r0 + 1}=one`, `put /k@${r0 + 2}=two`, `delete /k@${r0 + 3}`]);
  t.equal(events[0]!.prev, undefined);
  t.equal(events[1]!.prev!.value.toString(), 'one');
  t.equal(events[2]!.prev!.value.toString(), 'two');
});

t.test('a watch without a revision sees only new events', async (t) => {
  const { store } = await newStore(t);
  const r0 = store.currentRevision();
  await store.create('/old', b('x'));
  const w = store.watch('/');
  await store.create('/new', b('y'));
  t.same(summary(await take(w, 1)), [`put /new@${r0 + 2}=y`]);
});

t.test('no gaps, duplicates or reordering while writers race a starting watcher', async (t) => {
  const { store } = await newStore(t);
  const r0 = store.currentRevision();
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 300; i++) writes.push(store.create(`/race/${i}`, b(String(i))));
  // Start watches in the middle of the stream of commits.
  await new Promise((r) => setImmediate(r));
  const mid = store.currentRevision();
  const w = store.watch('/race/', { fromRevision: r0 + 1 });
  const w2 = store.watch('/race/', { fromRevision: mid + 1 });
  await Promise.all(writes);
  const all = await take(w, 300);
  t.same(
    all.map((e) => e.kv.modRevision),
    Array.from({ length: 300 }, (_, i) => r0 + i + 1),
  );
  const tail = await take(w2, r0 + 300 - mid);
  t.same(
    tail.map((e) => e.kv.modRevision),
    Array.from({ length: r0 + 300 - mid }, (_, i) => mid + i + 1),
  );
});

t.test('many watchers get the same stream', async (t) => {
  const { store } = await newStore(t);
  const r0 = store.currentRevision();
  const watchers = Array.from({ length: 100 }, () => store.watch('/fan/'));
  for (let i = 0; i < 50; i++) await store.create(`/fan/${i}`, b(String(i)));
  const expected = Array.from({ length: 50 }, (_, i) => r0 + i + 1);
  for (const w of watchers)
    t.same(
      (await take(w, 50)).map((e) => e.kv.modRevision),
      expected,
    );
});

t.test('a slow watcher is closed without holding up writers or other watchers', async (t) => {
  const { store } = await newStore(t, { watcherBufferLimit: 50 });
  const slow = store.watch('/s/');
  const fast = store.watch('/s/');
  let fastSeen = 0;
  const reading = (async () => {
    for await (const batch of fast) {
      fastSeen += batch.length;
      if (fastSeen >= 200) break;
    }
  })();
  for (let i = 0; i < 200; i++) await store.create(`/s/${i}`, b('x'));
  await reading;
  t.equal(fastSeen, 200, 'the reading watcher saw everything');
  const err = await take(slow, 1000).catch((e: unknown) => e);
  t.type(err, WatcherTooSlowError, 'the one that never read was closed with an error');
});

t.test('watching from a compacted revision fails and names the oldest available', async (t) => {
  const { store } = await newStore(t);
  const r0 = store.currentRevision();
  for (let i = 0; i < 10; i++) await store.create(`/c/${i}`, b('x'));
  await store.compact(r0 + 6);
  let err: unknown;
  try {
    store.watch('/c/', { fromRevision: r0 + 3 });
  } catch (e) {
    err = e;
  }
  t.type(err, CompactedError);
  t.equal((err as CompactedError).oldestAvailable, r0 + 7);
  t.match((err as Error).message, `oldest revision available is ${r0 + 7}`);
  t.same(
    (await take(store.watch('/c/', { fromRevision: r0 + 7 }), 4)).map((e) => e.kv.modRevision),
    [r0 + 7, r0 + 8, r0 + 9, r0 + 10],
  );
});

t.test('closing a watcher ends its iteration', async (t) => {
  const { store } = await newStore(t);
  const w = store.watch('/');
  const done = take(w, 5);
  w.close();
  t.same(await done, []);
});
