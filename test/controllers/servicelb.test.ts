// ServiceLB: which node addresses a LoadBalancer Service gets, as K3s decides them, and the
// controller keeping status.loadBalancer.ingress and its events up to date.
import t, { type Test } from 'tap';
import { events, nodes, services } from '../../src/client/resources.js';
import { withControllers } from './running.js';
import { DEFAULT_TIMINGS } from '../../src/controllers/settings.js';
import { ENABLE_LB_LABEL, ingressFor } from '../../src/controllers/servicelb.js';
import { eventually } from '../helpers/eventually.js';

const node = (name: string, ip: string, opts: { ready?: boolean; external?: string; labels?: Record<string, string> } = {}) => ({
  metadata: { name, labels: opts.labels ?? {} },
  status: {
    conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    addresses: [{ type: 'InternalIP', address: ip }, ...(opts.external ? [{ type: 'ExternalIP', address: opts.external }] : [])],
  },
});
const lb = (name: string, port: number, extra: Record<string, unknown> = {}, created = '2026-01-01T00:00:00Z') => ({
  metadata: { name, namespace: 'default', creationTimestamp: created },
  spec: { type: 'LoadBalancer', ports: [{ port, protocol: 'TCP' }], ...extra },
});

t.test('which node addresses a LoadBalancer gets', async (t) => {
  const all = [node('a', '10.0.0.2'), node('b', '10.0.0.1'), node('down', '10.0.0.3', { ready: false })];
  t.same(ingressFor(lb('web', 80), [], all, []), ['10.0.0.1', '10.0.0.2'], 'the Ready nodes, sorted');
  const withExternal = [node('a', '10.0.0.2', { external: '192.0.2.7' }), node('b', '10.0.0.1')];
  t.same(ingressFor(lb('web', 80), [], withExternal, []), ['192.0.2.7'], 'ExternalIPs once any node has one');
  const labelled = [node('a', '10.0.0.2', { labels: { [ENABLE_LB_LABEL]: 'true' } }), node('b', '10.0.0.1')];
  t.same(ingressFor(lb('web', 80), [], labelled, []), ['10.0.0.2'], 'only enablelb=true nodes once any node is labelled');
  const older = lb('first', 80, {}, '2025-01-01T00:00:00Z');
  t.same(ingressFor(lb('web', 80), [older], all, []), [], 'the port is held by an older LoadBalancer');
  t.same(ingressFor(older, [lb('web', 80)], all, []), ['10.0.0.1', '10.0.0.2'], 'which keeps it');
  const holder = { ...lb('holder', 80, {}, '2027-01-01T00:00:00Z'), status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } } };
  t.same(ingressFor(older, [holder], all, []), [], 'a Service that holds the port keeps it, however old the other');
  t.same(ingressFor(lb('web', 81), [older], all, []), ['10.0.0.1', '10.0.0.2'], 'another port is free');
  const slice = {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.42.1.5'], nodeName: 'a', conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'p' } }],
  };
  t.same(
    ingressFor(lb('web', 80, { externalTrafficPolicy: 'Local' }), [], all, [slice]),
    ['10.0.0.2'],
    'Local: nodes with a ready endpoint',
  );
  t.same(ingressFor(lb('web', 80, { externalTrafficPolicy: 'Local' }), [], all, []), [], 'Local without endpoints: none');
});

async function cluster(t: Test, disabled: string[] = []) {
  // The nodes here post no leases: the node lifecycle controller must not take them for dead.
  const timings = { ...DEFAULT_TIMINGS, nodeMonitorGracePeriodMs: 3_600_000 };
  const { api } = await withControllers(t, () => ({ disabled, timings }));
  const addNode = async (n: ReturnType<typeof node>) => {
    await api.resource(nodes).create({ metadata: n.metadata });
    await api.resource(nodes).patch(undefined, n.metadata.name, { status: n.status }, 'merge', 'status');
  };
  const ingress = async (name: string) =>
    ((await api.resource(services).get('default', name)).status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
  return { api, addNode, ingress };
}

t.test('the controller keeps a LoadBalancer Service on its nodes', async (t) => {
  const { api, addNode, ingress } = await cluster(t);
  await addNode(node('n1', '10.9.0.1'));
  await api
    .resource(services)
    .create({ metadata: { name: 'web', namespace: 'default' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
  await eventually(async () => JSON.stringify(await ingress('web')) === '["10.9.0.1"]', { what: 'the first node in the ingress' });
  await addNode(node('n2', '10.9.0.2'));
  await eventually(async () => JSON.stringify(await ingress('web')) === '["10.9.0.1","10.9.0.2"]', { what: 'a new node added' });
  await api.resource(nodes).delete(undefined, 'n1');
  await eventually(async () => JSON.stringify(await ingress('web')) === '["10.9.0.2"]', { what: 'a node that left removed' });
  await api
    .resource(services)
    .create({ metadata: { name: 'clash', namespace: 'default' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
  const warned = await eventually(
    async () =>
      (await api.resource(events).list('default')).items.find(
        (e) => e.involvedObject?.name === 'clash' && e.reason === 'UnAvailableLoadBalancer',
      ),
    { what: 'a warning for the Service whose port is taken' },
  );
  t.equal(warned.message, 'There are no available nodes for LoadBalancer');
  t.same(await ingress('clash'), []);
  const updated = (await api.resource(events).list('default')).items.find(
    (e) => e.involvedObject?.name === 'web' && e.reason === 'UpdatedLoadBalancer',
  );
  t.match(updated?.message, /^Updated LoadBalancer with new IPs: \[.*\] -> \[.*\]$/);
  await api.resource(services).delete('default', 'web');
  await eventually(async () => JSON.stringify(await ingress('clash')) === '["10.9.0.2"]', {
    what: 'the port freed for the other Service',
    explain: async () =>
      JSON.stringify({ clash: await api.resource(services).get('default', 'clash'), nodes: await api.resource(nodes).list() }),
  });
});

t.test('--disable servicelb leaves LoadBalancers pending', async (t) => {
  const { api, addNode, ingress } = await cluster(t, ['servicelb']);
  await addNode(node('n1', '10.9.0.1'));
  const spec = { type: 'LoadBalancer' as const, selector: { app: 'web' }, ports: [{ port: 80 }] };
  await api.resource(services).create({ metadata: { name: 'web', namespace: 'default' }, spec });
  // The endpoints controller answering for the same Service proves the controllers have seen it.
  await eventually(async () => api.getJson('/api/v1/namespaces/default/endpoints/web'), { what: 'the Service seen by the controllers' });
  t.same(await ingress('web'), [], 'no addresses without ServiceLB');
});
