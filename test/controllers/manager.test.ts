import t from 'tap';
import { admin, apiHarness } from '../apiserver/harness.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport, type Transport } from '../../src/client/transport.js';
import { replicaSets, pods, leases } from '../../src/client/resources.js';
import { runControllers, runLeaderElected } from '../../src/controllers/manager.js';

const timing = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };

async function until(cond: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

const rs = (replicas: number) => ({
  apiVersion: 'apps/v1' as const, kind: 'ReplicaSet' as const, metadata: { name: 'web', namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
});

t.test('two controller managers: one leads and acts; the other takes over when it dies', async (t) => {
  const h = await apiHarness(t);
  const base = inProcessTransport(h.app, admin);
  const api = new ApiClient(base);
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
  await until(async () => (await api.resource(leases).get('kube-system', 'kube-controller-manager').catch(() => undefined))?.spec?.holderIdentity !== undefined);
  runs.push(runLeaderElected(api, 'kube-controller-manager', (s) => runControllers(api, s), stopB.signal, timing));
  const holderA = (await api.resource(leases).get('kube-system', 'kube-controller-manager')).spec!.holderIdentity;

  await api.resource(replicaSets).create(rs(3));
  t.ok(await until(async () => (await api.resource(pods).list('default')).items.length === 3), 'the leader creates the pods');
  await new Promise((r) => setTimeout(r, 2 * timing.leaseDurationMs));
  t.equal((await api.resource(pods).list('default')).items.length, 3, 'exactly once: the other manager stands by');

  aliveA = false;
  const takeover = await until(async () => (await api.resource(leases).get('kube-system', 'kube-controller-manager')).spec?.holderIdentity !== holderA);
  t.ok(takeover, 'the standby takes the lease');
  await api.resource(replicaSets).patch('default', 'web', { spec: { replicas: 5 } });
  t.ok(await until(async () => (await api.resource(pods).list('default')).items.length === 5), 'and runs the controllers');
  const lease = await api.resource(leases).get('kube-system', 'kube-controller-manager');
  t.equal(lease.spec?.leaseTransitions, 1);
  await stopAll();
});
