// The node's ingress against the API in-process, as its node: backends are HTTP servers on loopback
// that EndpointSlices point at, the ingress listens on loopback's free ports. Routing by host and
// path, X-Forwarded-*, 404/503/502, TLS by SNI from a Secret (and the default certificate), and an
// Upgrade passed through both ways.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { startIngress } from '../../../src/agent/network/ingress/index.js';
import { ApiClient } from '../../../src/client/rest-client.js';
import { inProcessTransport } from '../../../src/client/transport.js';
import { ingresses } from '../../../src/client/resources.js';
import { DEFAULT_CLUSTER_CONFIG } from '../../../src/k8s/cluster-config.js';
import { createCA, issueCertificate } from '../../../src/pki/certificates.js';
import { apiHarness } from '../../apiserver/harness.js';
import { freePort } from '../../helpers/cluster.js';
import { eventually } from '../../helpers/eventually.js';
import { ingressGet, ingressUpgrade } from '../../helpers/ingress-client.js';
import { tempDir } from '../../helpers/tmp.js';

/** A backend answering "<name> <path> <x-forwarded-for> <proto> <host>", and echoing an upgraded connection. */
async function backend(t: Test, name: string): Promise<number> {
  const server = http.createServer((req, res) => {
    const h = req.headers;
    res.end(`${name} ${req.url} ${h['x-forwarded-for']} ${h['x-forwarded-proto']} ${h['x-forwarded-host']}`);
  });
  server.on('upgrade', (req, socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n\r\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as AddressInfo).port;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

t.test('the ingress routes, terminates TLS and passes upgrades through', async (t) => {
  const h = await apiHarness(t);
  const admin = new ApiClient(inProcessTransport(h.app, { username: 'admin', groups: ['system:masters'] }));
  const asNode = new ApiClient(inProcessTransport(h.app, { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] }));
  const create = async (url: string, body: unknown) => {
    const r = await h.request('POST', url, body);
    if (r.status >= 300) throw new Error(`${url}: ${JSON.stringify(r.body)}`);
  };
  await create('/apis/networking.k8s.io/v1/ingressclasses', {
    metadata: { name: 'skiff', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
    spec: { controller: 'skiff.io/ingress' },
  });
  const ports: Record<string, number> = { alpha: await backend(t, 'alpha'), beta: await backend(t, 'beta') };
  for (const name of ['alpha', 'beta', 'empty', 'dead']) {
    await create('/api/v1/namespaces/default/services', { metadata: { name }, spec: { ports: [{ name: 'web', port: 80 }] } });
    const port = ports[name] ?? (name === 'dead' ? await freePort() : undefined);
    await create('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      metadata: { name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'web', port: port ?? 1, protocol: 'TCP' }],
      endpoints: port ? [{ addresses: ['127.0.0.1'], conditions: { ready: true } }] : [],
    });
  }
  const ca = await createCA('test ingress ca');
  const leaf = await issueCertificate(ca, { commonName: 'a.example.com', sans: ['a.example.com'], usage: 'server' });
  await create('/api/v1/namespaces/default/secrets', {
    metadata: { name: 'a-tls' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(leaf.certPem), 'tls.key': b64(leaf.keyPem) },
  });
  const path = (p: string, pathType: string, service: string) => ({
    path: p,
    pathType,
    backend: { service: { name: service, port: { name: 'web' } } },
  });
  await create('/apis/networking.k8s.io/v1/namespaces/default/ingresses', {
    metadata: { name: 'two-hosts' },
    spec: {
      tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }],
      rules: [
        { host: 'a.example.com', http: { paths: [path('/', 'Prefix', 'alpha'), path('/b-only', 'Exact', 'beta')] } },
        { host: 'b.example.com', http: { paths: [path('/', 'Prefix', 'beta')] } },
        { host: 'empty.example.com', http: { paths: [path('/', 'Prefix', 'empty')] } },
        { host: 'dead.example.com', http: { paths: [path('/', 'Prefix', 'dead')] } },
      ],
    },
  });

  const ingressPorts = { http: await freePort(), https: await freePort() };
  const ingress = await startIngress(asNode, {
    nodeName: 'n1',
    nodeIP: '127.0.0.1',
    resolvConf: '/etc/resolv.conf',
    dataDir: tempDir(t),
    cluster: DEFAULT_CLUSTER_CONFIG,
    ingressPorts,
  });
  t.teardown(() => ingress.stop());
  const get = (host: string, p = '/', tls = false) =>
    ingressGet({ address: '127.0.0.1', port: tls ? ingressPorts.https : ingressPorts.http, host, path: p, tls });

  const a = await eventually(async () =>
    (await get('a.example.com', '/x?q=1')).status === 200 ? get('a.example.com', '/x?q=1') : undefined,
  );
  t.equal(a.body, 'alpha /x?q=1 127.0.0.1 http a.example.com', 'host a to alpha, path and query kept, X-Forwarded-*');
  t.match((await get('b.example.com', '/y')).body, /^beta \/y /, 'host b to beta');
  t.match((await get('a.example.com', '/b-only')).body, /^beta /, 'Exact path to beta');
  t.match((await get('a.example.com', '/b-only/x')).body, /^alpha /, 'Exact matches only itself');
  t.equal((await get('c.example.com')).status, 404, 'no rule: 404');
  t.equal((await get('empty.example.com')).status, 503, 'no ready endpoint: 503');
  t.equal((await get('dead.example.com')).status, 502, 'endpoint refusing: 502');

  const secure = await eventually(async () => {
    const r = await get('a.example.com', '/s', true);
    return r.certificateNames === 'DNS:a.example.com' ? r : undefined;
  });
  t.equal(secure.body, 'alpha /s 127.0.0.1 https a.example.com', "HTTPS with a.example.com's certificate, proto https");
  const other = await get('b.example.com', '/', true);
  t.not(other.certificateNames, 'DNS:a.example.com', 'another name gets the default certificate');
  t.match(other.body, /^beta /);

  t.same(await ingressUpgrade({ address: '127.0.0.1', port: ingressPorts.http, host: 'b.example.com' }, 'echo', 'ping'), {
    status: 101,
    echoed: 'ping',
  });
  t.same(
    await ingressUpgrade({ address: '127.0.0.1', port: ingressPorts.https, host: 'a.example.com', tls: true }, 'websocket', 'over tls'),
    { status: 101, echoed: 'over tls' },
    'and over TLS',
  );
  t.equal((await ingressUpgrade({ address: '127.0.0.1', port: ingressPorts.http, host: 'c.example.com' }, 'echo', 'x')).status, 404);

  await admin.resource(ingresses).delete('default', 'two-hosts');
  await eventually(async () => (await get('a.example.com')).status === 404, { what: 'routes gone with the Ingress' });
});

t.test('a port that is taken at start is opened once it is free', async (t) => {
  const h = await apiHarness(t);
  const asNode = new ApiClient(inProcessTransport(h.app, { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] }));
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const taken = (holder.address() as AddressInfo).port;
  const ingress = await startIngress(asNode, {
    nodeName: 'n1',
    nodeIP: '127.0.0.1',
    resolvConf: '/etc/resolv.conf',
    dataDir: tempDir(t),
    cluster: DEFAULT_CLUSTER_CONFIG,
    ingressPorts: { http: taken, https: await freePort() },
  });
  t.teardown(() => ingress.stop());
  await new Promise<void>((r) => holder.close(() => r()));
  const answer = await eventually(() => ingressGet({ address: '127.0.0.1', port: taken, host: 'any.example.com' }), {
    what: 'the ingress on the freed port',
  });
  t.equal(answer.status, 404, 'the ingress answers there (no Ingress: 404)');
});
