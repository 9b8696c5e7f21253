import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startHollowNodes } from '../helpers/hollow.js';

t.test('Endpoints and EndpointSlices follow a Service and its ready pods', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1', 'n2']);
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment) });
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(service) });
  await c.k('rollout', 'status', 'deployment/web', '--timeout=60s');

  const ips = async () =>
    (await c.k('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.podIP}')).split(' ').filter(Boolean).sort();
  const endpointIps = async () =>
    (await c.k('get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[*].addresses[*].ip}')).split(' ').filter(Boolean).sort();
  const want = await ips();
  t.equal(want.length, 3);
  t.ok(await eventually(async () => JSON.stringify(await endpointIps()) === JSON.stringify(want)), 'the endpoints list every ready pod');
  t.equal(
    await c.k('get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[0].ports[0].name}:{.subsets[0].ports[0].port}'),
    'http:8080',
    'the named target port is resolved',
  );
  const slice = await c.k(
    'get',
    'endpointslices',
    '-l',
    'kubernetes.io/service-name=web',
    '-o',
    'jsonpath={.items[0].addressType} {.items[0].ports[0].port} {.items[0].metadata.ownerReferences[0].kind}',
  );
  t.equal(slice, 'IPv4 8080 Service');
  t.match(
    await c.k('describe', 'service', 'web'),
    new RegExp(`Endpoints:\\s+${want.map((ip) => `${ip.replace(/\./g, '\\.')}:8080`).join(',')}`),
  );

  await c.k('scale', 'deployment', 'web', '--replicas=1');
  t.ok(await eventually(async () => (await endpointIps()).length === 1), 'scaling down shrinks them');
  t.equal((await endpointIps())[0], (await ips())[0]);

  await c.k('delete', 'service', 'web');
  t.ok(
    await eventually(
      async () =>
        (await c.k('get', 'endpoints,endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'name')) === '' &&
        (await c.kubectl(['get', 'endpoints', 'web'])).code !== 0,
    ),
    'and they go with the service',
  );
});

t.test('default/kubernetes points at the API server', async (t) => {
  const c = await startCluster(t);
  t.match(await c.k('get', 'service', 'kubernetes'), /^kubernetes\s+ClusterIP\s+10\.43\.0\.1\s+<none>\s+443\/TCP\s+/m);
  t.equal(
    await c.k('get', 'endpoints', 'kubernetes', '-o', 'jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}'),
    `127.0.0.1:${c.port}`,
  );
  t.equal(
    await c.k('get', 'endpointslice', 'kubernetes', '-o', 'jsonpath={.endpoints[0].addresses[0]} {.ports[0].port}'),
    `127.0.0.1 ${c.port}`,
  );
  // A new service never gets the address the kubernetes service holds.
  await c.k('create', 'service', 'clusterip', 'other', '--tcp=80');
  t.equal(await c.k('get', 'service', 'other', '-o', 'jsonpath={.spec.clusterIP}'), '10.43.0.2');
});
