import t from 'tap';
import { admin, apiHarness } from '../apiserver/harness.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport, type Transport } from '../../src/client/transport.js';
import { LeaderElector } from '../../src/client/leader-election.js';
import { leases } from '../../src/client/resources.js';
import { eventually } from '../helpers/eventually.js';
import { ManualClock } from '../helpers/manual-clock.js';

const timing = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };

/** Work that lasts the whole term, as a real loop does. */
const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

t.test('one of two candidates leads; the other takes over when the leader dies', async (t) => {
  const h = await apiHarness(t);
  const base = inProcessTransport(h.app, admin);
  const clock = new ManualClock();
  let aliveA = true;
  // Candidate A "dies": its calls fail from then on, like a killed process that never releases.
  const transportA: Transport = (m, p, i) => (aliveA ? base(m, p, i) : Promise.reject(new Error('connection refused')));
  const leading = { a: false, b: false };
  const stops = { a: 0, b: 0 };
  const candidate = (id: 'a' | 'b', transport: Transport) =>
    new LeaderElector(new ApiClient(transport), {
      namespace: 'kube-system',
      name: 'test-lock',
      identity: id,
      ...timing,
      clock,
      onStartedLeading: (signal) => {
        leading[id] = true;
        signal.addEventListener('abort', () => (leading[id] = false));
        return untilAborted(signal);
      },
      onStoppedLeading: () => stops[id]++,
    });
  const lock = () => new ApiClient(base).resource(leases).get('kube-system', 'test-lock');
  /** One retry period passes; both candidates have acted on it and wait again. */
  const tick = async () => {
    clock.advance(timing.retryPeriodMs);
    await clock.settled(2);
  };
  const stopA = new AbortController();
  const stopB = new AbortController();
  const runs = [candidate('a', transportA).run(stopA.signal)];
  t.ok(await eventually(() => leading.a), 'a leads first');
  runs.push(candidate('b', base).run(stopB.signal));
  await clock.settled(2);
  // Twice the lease duration passes by the candidates' clock: b would have taken over by then, had
  // it not seen a renew.
  const renewals = new Set<string>();
  for (let passed = 0; passed < 2 * timing.leaseDurationMs; passed += timing.retryPeriodMs) {
    await tick();
    renewals.add((await lock()).spec!.renewTime!);
  }
  t.equal(renewals.size, (2 * timing.leaseDurationMs) / timing.retryPeriodMs, 'a renewed at every retry period');
  t.equal(leading.b, false, 'b waits while a renews');
  const lease = await lock();
  t.equal(lease.spec?.holderIdentity, 'a');

  aliveA = false;
  const died = clock.now();
  for (let i = 0; i < 100 && !leading.b; i++) await tick();
  t.ok(leading.b, 'b takes over');
  // (How soon after a's death depends on when a last renewed, so it is reported, not asserted.)
  t.comment(`takeover ${clock.now() - died} ms (by the clock) after the leader died (lease duration ${timing.leaseDurationMs} ms)`);
  for (let i = 0; i < 100 && leading.a; i++) await tick();
  t.ok(!leading.a, 'a notices it cannot renew and stops leading');
  t.equal(stops.a, 1);
  const after = await lock();
  t.match(after.spec, { holderIdentity: 'b', leaseTransitions: 1 });
  // Stopped before the harness closes the datastore (its teardown runs first).
  stopA.abort();
  stopB.abort();
  await Promise.all(runs);
});

t.test('a leader that stops on purpose releases the lease at once', async (t) => {
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  const clock = new ManualClock();
  const slow = { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 100, clock };
  let bLeads = false;
  const stopA = new AbortController();
  const stopB = new AbortController();
  let aLeads = false;
  const a = new LeaderElector(api, {
    namespace: 'kube-system',
    name: 'lock',
    identity: 'a',
    ...slow,
    onStartedLeading: (signal) => {
      aLeads = true;
      return untilAborted(signal);
    },
  });
  const runningA = a.run(stopA.signal);
  t.ok(await eventually(() => aLeads));
  const runningB = new LeaderElector(api, {
    namespace: 'kube-system',
    name: 'lock',
    identity: 'b',
    ...slow,
    onStartedLeading: (signal) => {
      bLeads = true;
      return untilAborted(signal);
    },
  }).run(stopB.signal);
  // Both asleep: b has looked at the lease and found it held.
  await clock.settled(2);
  t.equal(bLeads, false);
  stopA.abort();
  await runningA;
  clock.advance(slow.retryPeriodMs);
  t.ok(await eventually(() => bLeads, { timeout: 3000 }), 'b leads one retry period later, long before the 60 s lease would have run out');
  stopB.abort();
  await runningB;
});

t.test('a leader whose work fails gives up the lease, and tries again later', async (t) => {
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  const clock = new ManualClock();
  // The clock stands still: any takeover below can only come from the failed leader giving the lease up.
  const slow = { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 100, clock };
  let aTerms = 0;
  let bLeads = false;
  const stopA = new AbortController();
  const stopB = new AbortController();
  const runningA = new LeaderElector(api, {
    namespace: 'kube-system',
    name: 'lock',
    identity: 'a',
    ...slow,
    onStartedLeading: async (signal) => {
      aTerms++;
      if (aTerms === 1) throw new Error('the controllers could not start');
      await untilAborted(signal);
    },
  }).run(stopA.signal);
  t.ok(await eventually(() => aTerms === 1), 'a leads and its work fails');
  const lease = await eventually(async () => (await api.resource(leases).get('kube-system', 'lock')).spec?.holderIdentity === '', {
    what: 'the lease released',
  });
  t.ok(lease, 'a released the lease instead of renewing it while doing nothing');
  const runningB = new LeaderElector(api, {
    namespace: 'kube-system',
    name: 'lock',
    identity: 'b',
    ...slow,
    onStartedLeading: (signal) => {
      bLeads = true;
      return untilAborted(signal);
    },
  }).run(stopB.signal);
  t.ok(await eventually(() => bLeads), 'b takes the released lease');
  stopB.abort();
  await runningB;
  // a waits out a lease duration before it campaigns again.
  await clock.settled(1);
  t.equal(aTerms, 1, 'a has not campaigned again yet');
  clock.advance(slow.leaseDurationMs);
  t.ok(await eventually(() => aTerms === 2), 'a campaigns again and its work runs again');
  stopA.abort();
  await runningA;
});
