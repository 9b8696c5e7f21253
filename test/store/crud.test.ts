import t from 'tap';
import { ConflictError, FutureRevisionError, InvalidContinueError, KeyExistsError, KeyNotFoundError } from '../../src/store/index.js';
import { b, newStore } from './helpers.js';

// Revisions are asserted relative to r0, the store's revision when it opens: 0 on a new SQLite or
// Postgres log, 1 on a new etcd (its first revision holds nothing).

t.test('create, get, update, delete with revisions', async (t) => {
  const { store } = await newStore(t);
  const r0 = store.currentRevision();
  const c = await store.create('/a/one', b('v1'));
  t.equal(c.revision, r0 + 1);
  const got = await store.get('/a/one');
  t.same({ ...got, value: got!.value.toString() }, { key: '/a/one', value: 'v1', createRevision: r0 + 1, modRevision: r0 + 1, lease: 0 });

  const u = await store.update('/a/one', b('v2'), r0 + 1);
  t.equal(u.revision, r0 + 2);
  const after = await store.get('/a/one');
  t.equal(after!.value.toString(), 'v2');
  t.equal(after!.createRevision, r0 + 1, 'update keeps the create revision');
  t.equal(after!.modRevision, r0 + 2);

  const d = await store.delete('/a/one', r0 + 2);
  t.equal(d.revision, r0 + 3);
  t.equal(d.prev.value.toString(), 'v2');
  t.equal(await store.get('/a/one'), undefined);
  t.equal(store.currentRevision(), r0 + 3);
});

t.test('create of an existing key fails; after delete it can be created again', async (t) => {
  const { store } = await newStore(t);
  await store.create('/k', b('1'));
  await t.rejects(store.create('/k', b('2')), KeyExistsError);
  t.equal((await store.get('/k'))!.value.toString(), '1', 'the failed create changed nothing');
  await store.delete('/k');
  const again = await store.create('/k', b('3'));
  const kv = await store.get('/k');
  t.equal(kv!.createRevision, again.revision, 'a re-created key has a new create revision');
});

t.test('preconditions: conflict and not-found are distinct errors', async (t) => {
  const { store } = await newStore(t);
  const { revision } = await store.create('/k', b('1'));
  await store.update('/k', b('2'), revision);
  const err = await store.update('/k', b('3'), revision).catch((e: unknown) => e);
  t.type(err, ConflictError);
  t.match((err as ConflictError).message, `revision ${revision + 1}, not the expected ${revision}`);
  await t.rejects(store.delete('/k', revision), ConflictError);
  await t.rejects(store.update('/missing', b('x'), 5), KeyNotFoundError);
  await t.rejects(store.delete('/missing'), KeyNotFoundError);
  t.equal((await store.get('/k'))!.value.toString(), '2');
  await store.update('/k', b('4'));
  t.equal((await store.get('/k'))!.value.toString(), '4', 'no expected revision: unconditional');
});

t.test('concurrent updates with the same precondition: exactly one wins', async (t) => {
  const { store } = await newStore(t);
  const { revision } = await store.create('/race', b('0'));
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.update('/race', b(String(i + 1)), revision)));
  const won = results.filter((r) => r.status === 'fulfilled');
  t.equal(won.length, 1);
  t.ok(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof ConflictError));
  const creates = await Promise.allSettled(Array.from({ length: 10 }, () => store.create('/once', b('x'))));
  t.equal(creates.filter((r) => r.status === 'fulfilled').length, 1);
});

t.test('reads at an older revision show the state then', async (t) => {
  const { store } = await newStore(t);
  const r1 = (await store.create('/p/a', b('a1'))).revision;
  const r2 = (await store.create('/p/b', b('b1'))).revision;
  await store.update('/p/a', b('a2'));
  await store.delete('/p/b');
  t.equal((await store.get('/p/a', { revision: r1 }))!.value.toString(), 'a1');
  t.equal(await store.get('/p/b', { revision: r1 }), undefined, 'b did not exist yet');
  const then = await store.list('/p/', { revision: r2 });
  t.same(
    then.items.map((kv) => `${kv.key}=${kv.value}`),
    ['/p/a=a1', '/p/b=b1'],
  );
  t.equal(then.revision, r2);
  const now = await store.list('/p/');
  t.same(
    now.items.map((kv) => `${kv.key}=${kv.value}`),
    ['/p/a=a2'],
  );
  await t.rejects(store.get('/p/a', { revision: store.currentRevision() + 99 }), FutureRevisionError);
});

t.test('list by prefix with limit and continue, and count', async (t) => {
  const { store } = await newStore(t);
  for (let i = 0; i < 25; i++) await store.create(`/items/${String(i).padStart(2, '0')}`, b(String(i)));
  await store.create('/itemsx', b('not under the prefix'));
  await store.create('/other/1', b('x'));
  t.equal(await store.count('/items/'), 25);

  const seen: string[] = [];
  let page = await store.list('/items/', { limit: 10 });
  const pinned = page.revision;
  seen.push(...page.items.map((kv) => kv.key));
  await store.create('/items/99', b('created after the first page'));
  await store.delete('/items/24');
  while (page.continue) {
    page = await store.list('/items/', { limit: 10, continue: page.continue });
    t.equal(page.revision, pinned, 'later pages read at the first page revision');
    seen.push(...page.items.map((kv) => kv.key));
  }
  t.equal(seen.length, 25);
  t.equal(new Set(seen).size, 25, 'no duplicates across pages');
  t.equal(seen[0], '/items/00');
  t.equal(seen[24], '/items/24');
  t.equal(await store.count('/items/'), 25);
  await t.rejects(store.list('/items/', { continue: 'garbage' }), InvalidContinueError);
  await t.rejects(
    store.list('/other/', { continue: page.continue ?? Buffer.from(JSON.stringify({ rev: 1, after: '/items/01' })).toString('base64url') }),
    InvalidContinueError,
  );
});

t.test('values are opaque bytes', async (t) => {
  const { store } = await newStore(t);
  const bytes = Buffer.from([0, 1, 2, 255, 0, 128]);
  await store.create('/bin', bytes);
  t.same((await store.get('/bin'))!.value, bytes);
});
