// What only a datastore shared by several servers has, for each such backend (Postgres, MySQL): two
// stores on the same log, each a server, writing, watching, compacting and expiring leases. The
// backend is the one chosen with useBackend (test/store/helpers.ts) before this runs.
import t from 'tap';
import { CompactedError, ConflictError } from '../../src/store/index.js';
import { b, newStore, summary, take } from '../store/helpers.js';
import { eventually } from './eventually.js';
import { ManualClock } from './manual-clock.js';

export function testTwoServers(): void {
  t.test('two servers: each one watches the writes of the other, in one order without gaps', async (t) => {
    const { store: a, open } = await newStore(t);
    const c = await open();
    const fromA = a.watch('/x/', { fromRevision: 1 });
    const fromC = c.watch('/x/', { fromRevision: 1 });
    // Interleaved commits from two connection pools: ids are drawn in one order and committed in another.
    await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : c).create(`/x/${i}`, b(String(i)))));
    const revisions = Array.from({ length: 200 }, (_, i) => i + 1);
    t.same(
      (await take(fromA, 200)).map((e) => e.kv.modRevision),
      revisions,
    );
    t.same(
      (await take(fromC, 200)).map((e) => e.kv.modRevision),
      revisions,
    );
    t.equal(a.currentRevision(), 200);
    t.equal((await c.get('/x/1'))!.value.toString(), '1', 'a read on one server sees a write through the other');
  });

  t.test('two servers: a read through one sees every write acknowledged through the other', async (t) => {
    const { store: a, open } = await newStore(t);
    const c = await open();
    for (let i = 0; i < 50; i++) {
      const { revision } = await a.create(`/rw/${i}`, b(String(i)));
      t.equal((await c.get(`/rw/${i}`))?.modRevision, revision, `get of write ${i}`);
      t.equal((await c.list('/rw/')).items.length, i + 1, `list after write ${i}`);
      t.equal((await c.get(`/rw/${i}`, { revision }))?.value.toString(), String(i), `get at the revision of write ${i}`);
    }
  });

  t.test('two servers: compare-and-swap on one key, exactly one wins', async (t) => {
    const { store: a, open } = await newStore(t);
    const c = await open();
    const { revision } = await a.create('/race', b('0'));
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : c).update('/race', b(String(i)), revision)));
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    t.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof ConflictError));
    const creates = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : c).create('/once', b('x'))));
    t.equal(creates.filter((r) => r.status === 'fulfilled').length, 1);
  });

  t.test('two servers: an expired lease is revoked once, its keys deleted once', async (t) => {
    const clock = new ManualClock();
    const opts = { leaseCheckIntervalMs: 20, now: () => clock.now() };
    const { store: a, open } = await newStore(t, opts);
    const c = await open(opts);
    const lease = await a.grantLease(1);
    await c.create('/leased', b('v'), { lease });
    await c.keepAliveLease(lease);
    const w = a.watch('/', { fromRevision: 1 });
    clock.advance(1000);
    t.same(summary(await take(w, 2)), ['put /leased@1=v', 'delete /leased@2']);
    await c.create('/after', b('v'));
    t.same(summary(await take(w, 1)), ['put /after@3=v'], 'no second delete came between');
  });

  t.test('compaction on one server is known to the other', async (t) => {
    const { store: a, open } = await newStore(t);
    const c = await open();
    await a.create('/c/k', b('1'));
    for (let i = 2; i <= 5; i++) await a.update('/c/k', b(String(i)));
    t.equal((await c.get('/c/k'))!.value.toString(), '5');
    await a.compact(3);
    // At once, whether or not c has heard of the compaction yet: revision 2 is gone, so the watch fails.
    const err = await (async () => take(c.watch('/c/', { fromRevision: 2 }), 1))().catch((e: unknown) => e);
    t.type(err, CompactedError, 'a watch from a compacted revision');
    await eventually(() => c.compactRevision() === 3, { what: 'c to hear of the compaction' });
    await t.rejects(c.get('/c/k', { revision: 2 }), CompactedError);
    await c.create('/c/after', b('x'));
    await c.defragment();
    t.same(
      (await c.list('/c/')).items.map((kv) => kv.key),
      ['/c/after', '/c/k'],
    );
  });

  t.test('two servers: one that only watches sees the writes of the other, in order', async (t) => {
    const { store: a, open } = await newStore(t);
    const c = await open();
    const w = c.watch('/only/');
    for (let i = 0; i < 20; i++) await a.create(`/only/${i}`, b(String(i)));
    t.same(
      (await take(w, 20)).map((e) => e.kv.key),
      Array.from({ length: 20 }, (_, i) => `/only/${i}`),
    );
  });
}
