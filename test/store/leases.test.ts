import t from 'tap';
import { LeaseNotFoundError } from '../../src/store/index.js';
import { b, newStore, summary, take } from './helpers.js';
import { eventually } from '../helpers/eventually.js';
import { ManualClock } from '../helpers/manual-clock.js';

// The stores of SQLite and Postgres expire leases by the `now` they are given (here a manual clock);
// etcd expires them by its own clock, so on etcd these tests wait for time to really pass.

t.test('keys on an expired lease are deleted with delete events', async (t) => {
  const clock = new ManualClock();
  const { store } = await newStore(t, { leaseCheckIntervalMs: 50, now: () => clock.now() });
  const r0 = store.currentRevision();
  const lease = await store.grantLease(1);
  await store.create('/leased/a', b('a'), { lease });
  await store.create('/leased/b', b('b'), { lease });
  await store.create('/leased/forever', b('c'));
  t.equal((await store.get('/leased/a'))!.lease, lease);
  const w = store.watch('/leased/');
  clock.advance(1000);
  const events = await take(w, 2);
  // The logs delete each key at a revision of its own; etcd revokes a lease in one transaction.
  const deletes = summary(events).sort();
  const oneRevision = deletes[1] === `delete /leased/b@${r0 + 4}`;
  t.same(deletes, [`delete /leased/a@${r0 + 4}`, `delete /leased/b@${r0 + (oneRevision ? 4 : 5)}`]);
  t.equal(events[0]!.prev!.value.toString().length, 1);
  t.equal(await store.get('/leased/a'), undefined);
  t.ok(await store.get('/leased/forever'));
  await t.rejects(store.keepAliveLease(lease), LeaseNotFoundError);
});

t.test('keep-alive holds a lease; revoke deletes its keys at once', async (t) => {
  const clock = new ManualClock();
  const { store } = await newStore(t, { leaseCheckIntervalMs: 50, now: () => clock.now() });
  const lease = await store.grantLease(1);
  await store.create('/k', b('v'), { lease });
  // Beside it, a lease nobody keeps alive: once its key is gone, expiry was checked after the time passed.
  const unkept = await store.grantLease(1);
  await store.create('/unkept', b('v'), { lease: unkept });
  for (let i = 0; i < 6; i++) {
    clock.advance(300);
    await store.keepAliveLease(lease);
  }
  // Kept alive while waiting too: on etcd, the time that passes is real.
  await eventually(
    async () => {
      await store.keepAliveLease(lease);
      return (await store.get('/unkept')) === undefined;
    },
    { what: 'the unkept lease to expire' },
  );
  t.ok(await store.get('/k'), 'alive after 1.8 s of keep-alives on a 1 s lease');
  await store.revokeLease(lease);
  t.equal(await store.get('/k'), undefined);
  await t.rejects(store.create('/k2', b('v'), { lease }), LeaseNotFoundError);
});

t.test('leases survive a restart', async (t) => {
  const { store, open } = await newStore(t);
  const lease = await store.grantLease(60);
  await store.create('/k', b('v'), { lease });
  await store.close();
  const again = await open({ leaseCheckIntervalMs: 50 });
  await again.keepAliveLease(lease);
  await again.revokeLease(lease);
  t.equal(await again.get('/k'), undefined);
});
