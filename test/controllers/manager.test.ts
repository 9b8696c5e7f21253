import t from 'tap';
import { admin, apiHarness } from '../apiserver/harness.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport, type Transport } from '../../src/client/transport.js';
import { replicaSets, pods, leases } from '../../src/client/resources.js';
import { runControllers, runLeaderElected, runUnelected } from '../../src/controllers/manager.js';
import { eventually } from '../helpers/eventually.js';
import { ManualClock } from '../helpers/manual-clock.js';

const timings = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };

const rs = (replicas: number) => ({
  apiVersion: 'apps/v1' as const,
  kind: 'ReplicaSet' as const,
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
  },
});

t.test('two controller managers: one leads and acts; the other takes over when it dies', async (t) => {
  const h = await apiHarness(t);
  const base = inProcessTransport(h.app, admin);
  const api = new ApiClient(base);
  // Leader election runs on a clock of the test's own; the controllers on real time.
  const clock = new ManualClock();
  const timing = { ...timings, clock };
  /** One retry period passes; both managers' electors have acted on it and wait again. */
  const tick = async () => {
    clock.advance(timing.retryPeriodMs);
    await clock.settled(2);
  };
  const holder = async () => (await api.resource(leases).get('kube-system', 'kube-controller-manager')).spec?.holderIdentity;
  let aliveA = true;
  // Manager A "dies": every call it makes fails from then on, like a killed server.
  const transportA: Transport = (m, p, i) => (aliveA ? base(m, p, i) : Promise.reject(new Error('connection refused')));
  const stopA = new AbortController();
  const stopB = new AbortController();
  const runs: Promise<void>[] = [];
  // Stopped before the harness closes the datastore (teardowns run in order, the harness's first).
  const stopAll = async () => {
    stopA.abort();
    stopB.abort();
    await Promise.all(runs);
  };
  const clientA = new ApiClient(transportA);
  runs.push(runLeaderElected(clientA, 'kube-controller-manager', (s) => runControllers(clientA, s), stopA.signal, timing));
  const holderA = await eventually(holder, { what: 'a holder of the lease' });
  runs.push(runLeaderElected(api, 'kube-controller-manager', (s) => runControllers(api, s), stopB.signal, timing));
  await clock.settled(2);

  await api.resource(replicaSets).create(rs(3));
  t.ok(
    await eventually(async () => (await api.resource(pods).list('default')).items.length === 3, { what: 'three pods' }),
    'the leader creates the pods',
  );
  // Twice the lease duration by the electors' clock: the standby would have taken over by then,
  // had the leader not renewed.
  for (let passed = 0; passed < 2 * timing.leaseDurationMs; passed += timing.retryPeriodMs) await tick();
  t.equal(await holder(), holderA, 'the leader kept the lease');
  t.equal((await api.resource(pods).list('default')).items.length, 3, 'exactly once: the other manager stands by');

  aliveA = false;
  for (let i = 0; i < 100 && (await holder()) === holderA; i++) await tick();
  const takeover = (await holder()) !== holderA;
  t.ok(takeover, 'the standby takes the lease');
  await api.resource(replicaSets).patch('default', 'web', { spec: { replicas: 5 } });
  t.ok(
    await eventually(async () => (await api.resource(pods).list('default')).items.length === 5, { what: 'five pods' }),
    'and runs the controllers',
  );
  const lease = await api.resource(leases).get('kube-system', 'kube-controller-manager');
  t.equal(lease.spec?.leaseTransitions, 1);
  await stopAll();
});

t.test('the only server there can be runs the controllers without writing a Lease', async (t) => {
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  const stop = new AbortController();
  const run = runUnelected('kube-controller-manager', (s) => runControllers(api, s), stop.signal);
  await api.resource(replicaSets).create(rs(2));
  t.ok(
    await eventually(async () => (await api.resource(pods).list('default')).items.length === 2, { what: 'two pods' }),
    'the controllers create the pods',
  );
  t.same(
    (await api.resource(leases).list('kube-system')).items.map((l) => l.metadata?.name),
    [],
    'no leader-election Lease is written',
  );
  stop.abort();
  await run;
});

t.test('work of the only server that ends by itself runs again after a pause', async (t) => {
  const clock = new ManualClock();
  const stop = new AbortController();
  let runs = 0;
  const run = runUnelected(
    'test',
    async () => {
      runs++;
      if (runs === 1) throw new Error('broken');
    },
    stop.signal,
    clock,
  );
  await clock.settled(1);
  t.equal(runs, 1, 'the work ran once and waits');
  clock.advance(15_000);
  await clock.settled(1);
  t.equal(runs, 2, 'it ran again after the pause');
  stop.abort();
  await run;
});
