// The store suites again, on etcd (Debian's etcd-server, a new member in a temp dir for each store),
// and what only etcd has: TLS with client certificates, several stores on one etcd, and a cluster
// of three that loses a member while a watch is open.
import { Etcd3 } from 'etcd3';
import { ConnectionPool } from 'etcd3/lib/connection-pool.js';
import t from 'tap';
import { CompactedError, KeyExistsError, openEtcdStore, StoreError, StoreOpenError } from '../../src/store/index.js';
import { startEtcd } from '../helpers/etcd.js';
import { eventually } from '../helpers/eventually.js';
import { makeTestPki } from '../helpers/registry.js';
import { tempDir } from '../helpers/tmp.js';
import { b, newStore, summary, take, useBackend } from '../store/helpers.js';

useBackend(async (t) => {
  const { endpoints } = await startEtcd(t);
  // Leases expire by etcd's clock: the lease check interval and the clock given to the log stores do not apply.
  return {
    file: '',
    open: ({ compactIntervalMs, watcherBufferLimit }) => openEtcdStore({ endpoints, compactIntervalMs, watcherBufferLimit }),
  };
});
await import('../store/crud.test.js');
await import('../store/watch.test.js');
await import('../store/compaction.test.js');
await import('../store/leases.test.js');

t.test('over TLS, with a client certificate', async (t) => {
  const pki = await makeTestPki(tempDir(t));
  const etcd = await startEtcd(t, { tls: { caFile: pki.caFile, certFile: pki.certFile, keyFile: pki.keyFile } });
  const store = await openEtcdStore({
    endpoints: etcd.endpoints,
    tls: { cafile: pki.caFile, certfile: pki.clientCertFile, keyfile: pki.clientKeyFile },
  });
  t.teardown(() => store.close());
  const w = store.watch('/tls/');
  const { revision } = await store.create('/tls/k', b('v'));
  t.same(summary(await take(w, 1)), [`put /tls/k@${revision}=v`]);
  const refused = await openEtcdStore({ endpoints: etcd.endpoints, tls: { cafile: pki.caFile } }).catch((e: unknown) => e);
  t.type(refused, StoreOpenError, 'without a client certificate, etcd is not opened');
  t.match((refused as Error).message, etcd.endpoints[0]!);
});

t.test('two stores on one etcd: the periodic compaction of one is known to the other', async (t) => {
  const { store: a, open } = await newStore(t, { compactIntervalMs: 100 });
  const c = await open();
  const r0 = c.currentRevision();
  await c.create('/c/x', b('1'));
  await c.update('/c/x', b('2'));
  await eventually(() => c.compactRevision() >= r0 + 2, { what: "the other store's compaction" });
  t.ok(a.compactRevision() >= r0 + 2, 'the store that compacted knows it too');
  await t.rejects(c.get('/c/x', { revision: r0 + 1 }), CompactedError);
  t.equal((await c.get('/c/x'))!.value.toString(), '2');
});

t.test('two stores on one etcd: one knows of the writes of the other, and finds out from etcd what it compacted', async (t) => {
  const { store: a, open } = await newStore(t);
  const c = await open();
  const r0 = a.currentRevision();
  for (let i = 0; i < 6; i++) await a.create(`/c/${i}`, b('x'));
  await eventually(() => c.currentRevision() === r0 + 6, { what: "the other store's writes in currentRevision()" });
  await a.compact(r0 + 3);
  const read = await c.get('/c/0', { revision: r0 + 2 }).catch((e: unknown) => e);
  t.type(read, CompactedError, 'a read there');
  t.equal((read as CompactedError).oldestAvailable, r0 + 4);
  t.equal(c.compactRevision(), r0 + 3);
  await a.compact(r0 + 5);
  const watched = await take(c.watch('/c/', { fromRevision: r0 + 4 }), 1).catch((e: unknown) => e);
  t.type(watched, CompactedError, 'a watch from there');
  t.equal((watched as CompactedError).oldestAvailable, r0 + 6);
  t.equal(c.compactRevision(), r0 + 5);
  t.equal(await c.compact(r0 + 4), r0 + 5, 'compacting where the other already did is no error');
});

t.test('defragment gives the space of compacted history back on every member', async (t) => {
  const etcd = await startEtcd(t, { members: 3 });
  const store = await openEtcdStore({ endpoints: etcd.endpoints });
  t.teardown(() => store.close());
  const big = Buffer.alloc(64 * 1024, 'x');
  for (let i = 0; i < 64; i++) await store.create(`/big/${i}`, big);
  for (let i = 0; i < 64; i++) await store.delete(`/big/${i}`);
  await store.compact();
  const before = await dbSizes(etcd.endpoints);
  t.ok(
    before.every((size) => size > 4 * 1024 * 1024),
    `before: every member's database still holds the 4 MiB written (${before})`,
  );
  await store.defragment();
  const after = await dbSizes(etcd.endpoints);
  t.ok(
    after.every((size) => size < 1024 * 1024),
    `after: every member's database is down to what is left (${after})`,
  );
});

/** The size of each member's database file, as it says. */
async function dbSizes(endpoints: string[]): Promise<number[]> {
  return Promise.all(
    endpoints.map(async (endpoint) => {
      const client = new Etcd3({ hosts: endpoint });
      try {
        return Number((await client.maintenance.status()).dbSize);
      } finally {
        client.close();
      }
    }),
  );
}

t.test('three members, the one the store talks to killed mid-stream: writes go on, a watch sees each event once', async (t) => {
  // In deterministic order etcd3 sends every call and stream to the last endpoint first: the member
  // there is killed (the leader, so a new one is elected too), and the store must move to the others.
  ConnectionPool.deterministicOrder = true;
  t.teardown(() => {
    ConnectionPool.deterministicOrder = false;
  });
  const etcd = await startEtcd(t, { members: 3 });
  const doomed = await eventually(() => etcd.leader(), { what: 'a leader' });
  const store = await openEtcdStore({ endpoints: [...etcd.endpoints.filter((e) => e !== doomed.endpoint), doomed.endpoint] });
  t.teardown(() => store.close());
  const r0 = store.currentRevision();
  const w = store.watch('/ha/', { fromRevision: r0 + 1 });
  const live = store.watch('/ha/');

  const keys = Array.from({ length: 200 }, (_, i) => `/ha/${String(i).padStart(3, '0')}`);
  const created = new Map<string, number>();
  let lost = 0;
  let covered = true;
  /** Creates key; when the answer is lost, tries again until it is clear whether the create happened. */
  const create = async (key: string) => {
    for (;;) {
      try {
        const { revision } = await store.create(key, b(key));
        created.set(key, revision);
        covered &&= store.currentRevision() >= revision;
        return;
      } catch (err) {
        if (err instanceof KeyExistsError) {
          // An earlier attempt whose answer was lost did create it.
          created.set(key, (await store.get(key))!.createRevision);
          return;
        }
        if (err instanceof StoreError) throw err;
        lost++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const writing = (async () => {
    for (const key of keys) await create(key);
  })();
  await eventually(() => created.size >= 50, { what: '50 writes before the kill' });
  await doomed.stop('SIGKILL');
  await writing;
  t.equal(created.size, keys.length, `every create went through (${lost} answers lost on the way)`);
  t.ok(covered, 'currentRevision() was never behind an acknowledged write');

  const expected = keys.map((key) => `put ${key}@${created.get(key)}=${key}`);
  t.same(summary(await take(w, keys.length)), expected, 'the watch from a revision: every event, once, in order');
  t.same(summary(await take(live, keys.length)), expected, 'the live watch too');
  // Nothing more is queued: the next event is the next write.
  const last = await store.create('/ha/last', b('x'));
  expected.push(`put /ha/last@${last.revision}=x`);
  t.same(summary(await take(w, 1)), expected.slice(-1));
  t.same(summary(await take(store.watch('/ha/', { fromRevision: r0 + 1 }), expected.length)), expected, 'the survivors replay the same');
});
