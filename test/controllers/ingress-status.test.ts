// The Ingresses of Skiff's class: a classless one gets the default class (DefaultIngressClass
// admission), and the status controller lists the Ready nodes' addresses in status.loadBalancer.
import t, { type Test } from 'tap';
import { ingressClasses, ingresses, nodes, services } from '../../src/client/resources.js';
import { DEFAULT_TIMINGS } from '../../src/controllers/settings.js';
import { ingressAddresses } from '../../src/controllers/ingress-status.js';
import { eventually } from '../helpers/eventually.js';
import { withControllers } from './running.js';

const node = (name: string, ip: string, opts: { ready?: boolean; external?: string } = {}) => ({
  metadata: { name },
  status: {
    conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    addresses: [{ type: 'InternalIP', address: ip }, ...(opts.external ? [{ type: 'ExternalIP', address: opts.external }] : [])],
  },
});

t.test('the addresses of the Ready nodes, ExternalIPs first', async (t) => {
  t.same(ingressAddresses([node('a', '10.0.0.2'), node('b', '10.0.0.1'), node('c', '10.0.0.3', { ready: false })]), [
    '10.0.0.1',
    '10.0.0.2',
  ]);
  t.same(ingressAddresses([node('a', '10.0.0.2', { external: '192.0.2.7' }), node('b', '10.0.0.1')]), ['192.0.2.7']);
  t.same(ingressAddresses([]), []);
});

async function cluster(t: Test, disabled: string[] = []) {
  const timings = { ...DEFAULT_TIMINGS, nodeMonitorGracePeriodMs: 3_600_000 };
  const { api } = await withControllers(t, () => ({ disabled, timings }));
  const addNode = async (n: ReturnType<typeof node>) => {
    await api.resource(nodes).create({ metadata: n.metadata });
    await api.resource(nodes).patch(undefined, n.metadata.name, { status: n.status }, 'merge', 'status');
  };
  const addresses = async (name: string) =>
    JSON.stringify(((await api.resource(ingresses).get('default', name)).status?.loadBalancer?.ingress ?? []).map((i) => i.ip));
  const create = (name: string, spec: object) => api.resource(ingresses).create({ metadata: { name, namespace: 'default' }, spec });
  return { api, addNode, addresses, create };
}

const backend = { service: { name: 'web', port: { number: 80 } } };

t.test("DefaultIngressClass and the status of Skiff's Ingresses", async (t) => {
  const { api, addNode, addresses, create } = await cluster(t);
  t.equal(
    (await create('before-any-class', { defaultBackend: backend })).spec?.ingressClassName,
    undefined,
    'no default class: none given',
  );
  await api.resource(ingressClasses).create({
    metadata: { name: 'skiff', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
    spec: { controller: 'skiff.io/ingress' },
  });
  await api.resource(ingressClasses).create({ metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } });
  t.equal((await create('classless', { defaultBackend: backend })).spec?.ingressClassName, 'skiff', 'the default class given');
  t.equal((await create('theirs', { ingressClassName: 'nginx', defaultBackend: backend })).spec?.ingressClassName, 'nginx', 'a class kept');
  const annotated = await api.resource(ingresses).create({
    metadata: { name: 'annotated', namespace: 'default', annotations: { 'kubernetes.io/ingress.class': 'nginx' } },
    spec: { defaultBackend: backend },
  });
  t.equal(annotated.spec?.ingressClassName, undefined, 'the old annotation counts as a class');

  await addNode(node('n1', '10.9.0.1'));
  await eventually(async () => (await addresses('classless')) === '["10.9.0.1"]', { what: "the node's address in the status" });
  await addNode(node('n2', '10.9.0.2', { external: '192.0.2.9' }));
  await eventually(async () => (await addresses('classless')) === '["192.0.2.9"]', { what: 'ExternalIPs once a node has one' });
  await api.resource(nodes).delete(undefined, 'n2');
  await eventually(async () => (await addresses('classless')) === '["10.9.0.1"]', { what: 'a node that left removed' });
  t.equal(await addresses('theirs'), '[]', "another controller's Ingress is left alone");
  t.equal(await addresses('annotated'), '[]');
});

t.test('with --disable ingress no status is written', async (t) => {
  const { api, addNode, addresses, create } = await cluster(t, ['ingress']);
  await api.resource(ingressClasses).create({ metadata: { name: 'skiff' }, spec: { controller: 'skiff.io/ingress' } });
  await create('mine', { ingressClassName: 'skiff', defaultBackend: backend });
  await addNode(node('n1', '10.9.0.1'));
  // The servicelb controller runs and writes a Service's status: once it has, the ingress status controller would have too.
  await api.resource(services).create({
    metadata: { name: 'lb', namespace: 'default' },
    spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
  });
  await eventually(async () => {
    const svc = await api.resource(services).get('default', 'lb');
    return (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0;
  });
  t.equal(await addresses('mine'), '[]');
});
