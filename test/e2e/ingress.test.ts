// The ingress on real nodes (each in its own network namespace in the lab), driven with kubectl and
// reached from another machine of the lab's segment: one Ingress routing two hosts to two Services,
// Exact and Prefix paths, HTTPS with SNI from a TLS Secret made with kubectl, the ADDRESS that kubectl
// shows (both nodes), the second node serving the same routes, an Upgrade passed through to a pod and
// back; and --disable ingress leaving no class and no listener.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { createCA, issueCertificate } from '../../src/pki/certificates.js';
import { freePort, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { ingressGet, ingressUpgrade } from '../helpers/ingress-client.js';
import { createNetLab } from '../helpers/netlab.js';
import { startAgent } from '../helpers/agents.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';
import { tempDir } from '../helpers/tmp.js';

/** The pods run on the server's node; the agent's node only serves the ingress (and stops first). */
const ON_N0 = { 'kubernetes.io/hostname': 'n0' };

/** A pod serving its name at /, /exact, /deep/x and /deeper (busybox httpd on 8080). */
function webPod(name: string) {
  const files = ['index.html', 'exact', 'deep/x', 'deeper'].map((f) => `echo "$HOSTNAME" > /www/${f}`).join(' && ');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name } },
    spec: {
      nodeSelector: ON_N0,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'web',
          image: BUSYBOX,
          command: ['sh', '-c', `mkdir -p /www/deep && ${files} && httpd -f -p 8080 -h /www`],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

/** A pod that answers any request on 9000 with 101 Switching Protocols and then echoes what it gets. */
const UPGRADE_ECHO = [
  '#!/bin/sh',
  // The request's head ends with an empty line ("\r" once read).
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${#line}
  'while read -r line; do [ ${#line} -le 1 ] && break; done',
  "printf 'HTTP/1.1 101 Switching Protocols\\r\\nConnection: Upgrade\\r\\nUpgrade: echo\\r\\n\\r\\n'",
  'exec cat',
].join('\n');
const echoPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'echo', labels: { app: 'echo' } },
  spec: {
    nodeSelector: ON_N0,
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'echo',
        image: BUSYBOX,
        // The script comes in the environment: written out as it is, without a second level of quoting.
        env: [{ name: 'SCRIPT', value: UPGRADE_ECHO }],
        command: ['sh', '-c', 'printf "%s\\n" "$SCRIPT" > /upgrade && busybox chmod +x /upgrade && nc -ll -p 9000 -e /upgrade'],
        ports: [{ name: 'echo', containerPort: 9000 }],
        readinessProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1 },
      },
    ],
  },
};

const service = (name: string, port: number, targetPort: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: 'web', port, targetPort }] },
});

const path_ = (p: string, pathType: string, svc: string) => ({
  path: p,
  pathType,
  backend: { service: { name: svc, port: { name: 'web' } } },
});

const ingress = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'web' },
  spec: {
    tls: [{ hosts: ['alpha.example.com'], secretName: 'alpha-tls' }],
    rules: [
      {
        host: 'alpha.example.com',
        http: { paths: [path_('/', 'Prefix', 'alpha'), path_('/exact', 'Exact', 'beta'), path_('/deep', 'Prefix', 'beta')] },
      },
      { host: 'beta.example.com', http: { paths: [path_('/', 'ImplementationSpecific', 'beta')] } },
      { host: '*.echo.example.com', http: { paths: [path_('/', 'Prefix', 'echo')] } },
    ],
  },
};

t.test('an Ingress on real nodes: two hosts, paths, TLS with SNI, ADDRESS, a second node, upgrades', async (t) => {
  const lab = createNetLab(t, 2);
  const [host, second] = [lab.hosts[0]!, lab.hosts[1]!];
  const ports = { http: 8088, https: 8448 };
  const portArgs = ['--ingress-http-port', String(ports.http), '--ingress-https-port', String(ports.https)];
  const c = await startCluster(t, ['--node-name', 'n0', ...portArgs], { agent: true, host });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));
  await startAgent(t, c, second, { name: 'n1', args: portArgs });
  t.equal(await c.k('get', 'ingressclass', 'skiff', '-o', 'jsonpath={.spec.controller}'), 'skiff.io/ingress', 'the server made the class');

  const dir = tempDir(t);
  const ca = await createCA('test ingress ca');
  const leaf = await issueCertificate(ca, { commonName: 'alpha.example.com', sans: ['alpha.example.com'], usage: 'server' });
  fs.writeFileSync(path.join(dir, 'tls.crt'), leaf.certPem);
  fs.writeFileSync(path.join(dir, 'tls.key'), leaf.keyPem);
  await c.k('create', 'secret', 'tls', 'alpha-tls', '--cert', path.join(dir, 'tls.crt'), '--key', path.join(dir, 'tls.key'));
  const objects = [
    webPod('alpha'),
    webPod('beta'),
    echoPod,
    service('alpha', 80, 'http'),
    service('beta', 80, 'http'),
    service('echo', 9000, 'echo'),
  ];
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...objects, ingress] }) });
  t.equal(
    await c.k('get', 'ingress', 'web', '-o', 'jsonpath={.spec.ingressClassName}'),
    'skiff',
    'a classless Ingress gets the default class',
  );
  for (const name of ['alpha', 'beta', 'echo'])
    await podWhen(c, name, (p) => p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'));

  const get = (hostName: string, p = '/', tls = false) =>
    ingressGet({ address: host.ip, port: tls ? ports.https : ports.http, host: hostName, path: p, tls });
  const body = async (hostName: string, p = '/') => {
    const r = await get(hostName, p);
    return `${r.status} ${r.body.trim()}`;
  };
  await eventually(async () => (await body('alpha.example.com')) === '200 alpha', { what: 'alpha.example.com to reach the alpha pod' });
  t.equal(await body('beta.example.com'), '200 beta', 'the other host to the other Service');
  t.equal(await body('alpha.example.com', '/exact'), '200 beta', 'an Exact path');
  t.equal(await body('alpha.example.com', '/deep/x'), '200 beta', 'a Prefix path, by element');
  t.equal(await body('alpha.example.com', '/deeper'), '200 alpha', 'a Prefix does not match part of an element');
  t.equal((await get('gamma.example.com')).status, 404, 'no rule for the host');

  const secure = await eventually(async () => {
    const r = await get('alpha.example.com', '/', true);
    return r.certificateNames === 'DNS:alpha.example.com' ? r : undefined;
  });
  t.equal(secure.body.trim(), 'alpha', "HTTPS answered with the Secret's certificate for its name");
  const other = await get('beta.example.com', '/', true);
  t.not(other.certificateNames, 'DNS:alpha.example.com', 'another name gets the default certificate');
  t.equal(other.body.trim(), 'beta', 'and its own route');

  const addresses = [host.ip, second.ip].sort().join(',');
  const address = await eventually(async () => {
    const table = await c.k('get', 'ingress', 'web');
    return table.includes(addresses) && table;
  });
  t.match(
    address,
    new RegExp(`web\\s+skiff\\s+alpha.example.com,beta.example.com,\\*.echo.example.com\\s+${addresses.replace(/\./g, '\\.')}\\s+80, 443`),
    "kubectl get ingress shows both nodes' addresses",
  );
  const viaSecond = await eventually(async () => {
    const r = await ingressGet({ address: second.ip, port: ports.http, host: 'beta.example.com' });
    return r.status === 200 && r.body.trim();
  });
  t.equal(viaSecond, 'beta', "the other node's ingress serves the same Ingress, to a pod on the first node");

  const upgraded = await ingressUpgrade({ address: host.ip, port: ports.http, host: 'ws.echo.example.com' }, 'echo', 'hello through');
  t.same(upgraded, { status: 101, echoed: 'hello through' }, 'an Upgrade joins the client to the pod both ways');
});

t.test('--disable ingress: no IngressClass, no listener; disabling later removes the class', async (t) => {
  const ports = { http: await freePort(), https: await freePort() };
  const c = await startCluster(
    t,
    ['--disable', 'ingress', '--ingress-http-port', String(ports.http), '--ingress-https-port', String(ports.https)],
    { agent: true },
  );
  const nodeIP = await c.k('get', 'nodes', '-o', 'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}');
  t.equal((await c.k('get', 'ingressclass', '-o', 'name')).trim(), '', 'no IngressClass');
  for (const port of [ports.http, ports.https]) {
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(port, nodeIP, () => resolve('connected'));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    }).finally(() => {});
    t.equal(refused, 'ECONNREFUSED', `nothing listens on ${nodeIP}:${port}`);
  }
  t.notMatch(c.log(), /ingress listening/, 'the agent started no ingress');

  const later = await startCluster(t);
  await eventually(async () => (await later.k('get', 'ingressclass', '-o', 'name')).trim() === 'ingressclass.networking.k8s.io/skiff', {
    what: 'the class made at start',
  });
  process.env.SKIFF_DISABLE = 'ingress';
  t.teardown(() => {
    delete process.env.SKIFF_DISABLE;
  });
  await later.restart('SIGTERM');
  await eventually(async () => (await later.k('get', 'ingressclass', '-o', 'name')).trim() === '', {
    what: 'the class removed once disabled',
  });
});
