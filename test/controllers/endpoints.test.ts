// What the Service proxies read from EndpointSlices: a terminating pod stays in its slice (not ready,
// serving as its readiness, terminating) while the Endpoints object drops it, as upstream.
import t from 'tap';
import { endpointSlices, endpoints, pods, services } from '../../src/client/resources.js';
import { withControllers } from './running.js';
import { eventually } from '../helpers/eventually.js';

t.test('slices keep terminating pods with their conditions, per node and named port', async (t) => {
  const { api } = await withControllers(t);
  await api.resource(services).create({
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
  });
  for (const [name, ip, port] of [
    ['a', '10.42.0.5', 8080],
    ['b', '10.42.0.6', 9090],
  ] as const) {
    const pod = await api.resource(pods).create({
      metadata: { name, namespace: 'default', labels: { app: 'web' }, finalizers: ['test/hold'] },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'web', containerPort: port }] }] },
    });
    await api.resource(pods).updateStatus({
      ...pod,
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
  t.teardown(async () => {
    for (const name of ['a', 'b'])
      await api
        .resource(pods)
        .patch('default', name, { metadata: { finalizers: null } })
        .catch(() => {});
  });
  const endpointsOf = async () => {
    const slices = (await api.resource(endpointSlices).list('default', { labelSelector: 'kubernetes.io/service-name=web' })).items;
    return slices
      .flatMap((s) => (s.endpoints ?? []).map((e) => ({ ip: e.addresses[0], port: s.ports?.[0]?.port, node: e.nodeName, ...e.conditions })))
      .sort((x, y) => x.ip!.localeCompare(y.ip!));
  };
  const ready = { ready: true, serving: true, terminating: false };
  t.same(
    await eventually(async () => ((await endpointsOf()).length === 2 ? endpointsOf() : undefined)),
    [
      { ip: '10.42.0.5', port: 8080, node: 'n1', ...ready },
      { ip: '10.42.0.6', port: 9090, node: 'n1', ...ready },
    ],
    'each pod under the port number its container names',
  );
  await api.resource(pods).delete('default', 'a');
  const terminating = await eventually(async () => {
    const eps = await endpointsOf();
    return eps[0]?.terminating ? eps : undefined;
  });
  t.same(terminating[0], { ip: '10.42.0.5', port: 8080, node: 'n1', ready: false, serving: true, terminating: true });
  const ep = await api.resource(endpoints).get('default', 'web');
  t.same(
    ep.subsets?.flatMap((s) => (s.addresses ?? []).concat(s.notReadyAddresses ?? []).map((a) => a.ip)),
    ['10.42.0.6'],
    'the Endpoints object leaves the terminating pod out',
  );
});
