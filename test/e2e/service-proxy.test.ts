// Services on a real node, as kube-proxy gives them: the node's nftables rules carry traffic to a
// ClusterIP from pods and from the node itself, to a NodePort on the node's address from another
// machine, keep the client's address under externalTrafficPolicy Local, stick a client to one pod
// under sessionAffinity ClientIP, let a pod reach itself, refuse a Service without endpoints, lead
// kubernetes.default to the API server, and follow an endpoint out of the rotation.
import { spawn } from 'node:child_process';
import tls from 'node:tls';
import net from 'node:net';
import t from 'tap';
import { startAgent } from '../helpers/agents.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { createNetLab, type NetHost } from '../helpers/netlab.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';

/** A pod serving its name at / and the client's address at /cgi-bin/ip; SIGTERM leaves it 3 s more of serving. */
function webPod(name: string, labels: Record<string, string>) {
  const script = [
    'mkdir -p /www/cgi-bin',
    'echo "$HOSTNAME" > /www/index.html',
    `printf '#!/bin/sh\\necho "Content-Type: text/plain"\\necho\\necho "$REMOTE_ADDR"\\n' > /www/cgi-bin/ip`,
    'busybox chmod +x /www/cgi-bin/ip',
    'httpd -p 8080 -h /www',
    "trap 'sleep 3; exit 0' TERM",
    'while true; do sleep 1; done',
  ].join(' && ');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: 'web',
          image: BUSYBOX,
          command: ['sh', '-c', script],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

function service(name: string, selector: Record<string, string>, spec: object = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector, ports: [{ name: 'web', port: 80, targetPort: 'http' }], ...spec },
  };
}

/** Node code that GETs a URL `n` times, one connection each, and prints the bodies (or ERR <code>) as JSON. */
const GETS = `
const http = require('node:http');
const [url, n] = process.argv.slice(1);
(async () => {
  const out = [];
  for (let i = 0; i < Number(n); i++) {
    out.push(await new Promise((resolve) => {
      const req = http.get(url, { timeout: 3000, agent: false, insecureHTTPParser: true }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b.trim()));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (e) => resolve('ERR ' + e.code));
    }));
  }
  console.log(JSON.stringify(out));
})();`;

/** GETs from inside a lab host (the node's own network namespace). */
async function getsFromHost(host: NetHost, url: string, n: number): Promise<string[]> {
  const r = await host.exec(process.execPath, ['-e', GETS, url, String(n)]);
  if (r.code !== 0) throw new Error(`node in ${host.name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** GETs from this test's own namespace, another machine on the lab's segment. */
async function getsFromOutside(url: string, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', GETS, url, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}`))));
  });
}

/** GETs from inside a pod, with busybox nc: the last line of each answer, or ERR. */
async function getsFromPod(c: Cluster, pod: string, ip: string, port: number, n: number, path = '/'): Promise<string[]> {
  const one = `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} ${port}; echo; echo ---`;
  const r = await c.kubectl(['exec', pod, '--', 'sh', '-c', `i=0; while [ $i -lt ${n} ]; do ${one}; i=$((i+1)); done`]);
  if (r.code !== 0) throw new Error(`kubectl exec ${pod}: ${r.stderr}`);
  return r.stdout
    .split('---')
    .slice(0, n)
    .map((chunk) => (chunk.includes('HTTP/1.') ? chunk.trim().split('\n').at(-1)!.trim() : 'ERR'));
}

/** busybox httpd's REMOTE_ADDR (`[::ffff:10.0.0.1]`) as a plain IPv4 address. */
const clientAddress = (remote: string) => remote.replace(/^\[?(::ffff:)?/, '').replace(/\]$/, '');

/** The first flight of a TLS client (its ClientHello) for `servername`, as a real client sends it. */
async function clientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => {
      sock.once('data', (d) => {
        resolve(d);
        sock.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }).on('error', () => {});
    });
    server.on('error', reject);
  });
}

t.test('Services on a node: ClusterIP, NodePort, traffic policies, affinity, hairpin, reject, the API, endpoint removal', async (t) => {
  const lab = createNetLab(t, 1);
  const host = lab.hosts[0]!;
  const c = await startCluster(t, ['--node-name', 'n0'], { agent: true, host });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));
  const objects = [
    webPod('web-a', { app: 'web', self: 'a' }),
    webPod('web-b', { app: 'web' }),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client' },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: BUSYBOX, command: ['sleep', '3600'] }] },
    },
    service('web', { app: 'web' }),
    service('web-np', { app: 'web' }, { type: 'NodePort' }),
    service('web-local', { app: 'web' }, { type: 'NodePort', externalTrafficPolicy: 'Local' }),
    service('sticky', { app: 'web' }, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }),
    service('self', { self: 'a' }),
    service('empty', { app: 'nothing' }),
  ];
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
  for (const name of ['web-a', 'web-b', 'client'])
    await podWhen(
      c,
      name,
      (p) => p.status?.phase === 'Running' && p.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'),
    );
  const svc = async (name: string) => JSON.parse(await c.k('get', 'service', name, '-o', 'json')).spec;
  const web = await svc('web');
  const np = (await svc('web-np')).ports[0].nodePort;
  const localNp = (await svc('web-local')).ports[0].nodePort;
  const both = (answers: string[]) => answers.every((a) => a === 'web-a' || a === 'web-b') && new Set(answers).size === 2;

  await t.test('a ClusterIP answers pods, from every endpoint', async (t) => {
    const answers = await eventually(
      async () => {
        const a = await getsFromPod(c, 'client', web.clusterIP, 80, 12);
        return both(a) ? a : undefined;
      },
      { what: 'both pods to answer at the ClusterIP from a pod' },
    );
    t.equal(answers.length, 12);
  });

  await t.test('a ClusterIP answers the node itself (output hook)', async (t) => {
    const answers = await eventually(
      async () => {
        const a = await getsFromHost(host, `http://${web.clusterIP}/`, 12);
        return both(a) ? a : undefined;
      },
      { what: 'both pods to answer at the ClusterIP from the node' },
    );
    t.equal(answers.length, 12);
  });

  await t.test('a NodePort answers on the node address from another machine; the source is masqueraded under policy Cluster', async (t) => {
    const answers = await eventually(
      async () => {
        const a = await getsFromOutside(`http://${host.ip}:${np}/`, 12);
        return both(a) ? a : undefined;
      },
      { what: 'both pods to answer at the NodePort' },
    );
    t.equal(answers.length, 12);
    const seen = clientAddress((await getsFromOutside(`http://${host.ip}:${np}/cgi-bin/ip`, 1))[0]!);
    t.not(seen, lab.gateway, `the pod sees the node's address (${seen}), not the client's`);
    t.match(seen, /^\d+\.\d+\.\d+\.\d+$/);
  });

  await t.test('externalTrafficPolicy Local keeps the client address', async (t) => {
    const [seen] = await eventually(
      async () => {
        const a = await getsFromOutside(`http://${host.ip}:${localNp}/cgi-bin/ip`, 1);
        return a[0]?.startsWith('ERR') ? undefined : a;
      },
      { what: 'the Local NodePort to answer' },
    );
    t.equal(clientAddress(seen!), lab.gateway, 'the pod sees the outside client itself');
  });

  await t.test('sessionAffinity ClientIP sends a client to one pod', async (t) => {
    const sticky = await svc('sticky');
    const answers = await eventually(
      async () => {
        const a = await getsFromPod(c, 'client', sticky.clusterIP, 80, 10);
        return a.every((x) => !x.startsWith('ERR')) ? a : undefined;
      },
      { what: 'the sticky Service to answer' },
    );
    t.equal(new Set(answers).size, 1, `one pod answered every request: ${answers}`);
  });

  await t.test('a pod reaches itself through its Service (hairpin)', async (t) => {
    const self = await svc('self');
    const answers = await eventually(
      async () => {
        const a = await getsFromPod(c, 'web-a', self.clusterIP, 80, 3);
        return a.every((x) => x === 'web-a') ? a : undefined;
      },
      { what: 'web-a to answer itself' },
    );
    t.same(answers, ['web-a', 'web-a', 'web-a']);
  });

  await t.test('a Service without endpoints refuses at once', async (t) => {
    const empty = await svc('empty');
    const [answer] = await eventually(
      async () => {
        const a = await getsFromHost(host, `http://${empty.clusterIP}/`, 1);
        return a[0] === 'ERR ECONNREFUSED' ? a : undefined;
      },
      { what: 'the empty Service to be refused' },
    );
    t.equal(answer, 'ERR ECONNREFUSED');
  });

  await t.test('kubernetes.default (10.43.0.1:443) leads a pod to the API server: its TLS handshake answers', async (t) => {
    const hello = (await clientHello('kubernetes.default.svc')).toString('base64');
    const cmd = `echo ${hello} | busybox base64 -d | nc -w 3 10.43.0.1 443 | busybox od -An -tx1 | busybox head -n 1`;
    const first = await eventually(
      async () => {
        const r = await c.kubectl(['exec', 'client', '--', 'sh', '-c', cmd]);
        return r.stdout.trim().startsWith('16 03 03') ? r.stdout.trim() : undefined;
      },
      { what: 'a TLS ServerHello from 10.43.0.1:443' },
    );
    t.match(first, /^16 03 03/, 'a TLS handshake record (ServerHello) came back');
  });

  await t.test('an endpoint whose pod is deleted leaves the rotation while requests keep succeeding', async (t) => {
    // Requests from the node all along, one every 20 ms, until told to stop.
    const loop = spawn(host.enter[0]!, [...host.enter.slice(1), process.execPath, '-e', LOOP, `http://${web.clusterIP}/`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    loop.stdout!.on('data', (d) => (out += d));
    const ended = new Promise((r) => loop.once('exit', r));
    t.teardown(() => loop.kill());
    await eventually(() => out.includes('web-b'), { what: 'the request loop to reach web-b' });
    await c.k('delete', 'pod', 'web-b', '--wait=false');
    // Once the rules have taken web-b out, every answer comes from web-a.
    await eventually(
      async () => {
        const a = await getsFromHost(host, `http://${web.clusterIP}/`, 20);
        return a.every((x) => x === 'web-a');
      },
      { what: 'web-b to leave the rotation' },
    );
    const before = out.length;
    await eventually(() => out.length > before + 100, { what: 'more requests of the loop' });
    loop.stdin!.end();
    await ended;
    const answers = out.trim().split('\n');
    const failed = answers.filter((a) => a !== 'web-a' && a !== 'web-b');
    t.same(failed, [], `every one of ${answers.length} requests succeeded during the removal`);
    const tail = answers.slice(answers.lastIndexOf('web-b') + 1);
    t.ok(tail.length > 10 && tail.every((a) => a === 'web-a'), `after web-b left, ${tail.length} answers, all from web-a`);
  });
});

/** Node code that GETs a URL every 20 ms, printing each body (or ERR <code>), until its stdin closes. */
const LOOP = `
const http = require('node:http');
const url = process.argv[1];
let stop = false;
process.stdin.on('end', () => (stop = true)).resume();
(async () => {
  while (!stop) {
    const line = await new Promise((resolve) => {
      const req = http.get(url, { timeout: 3000, agent: false, insecureHTTPParser: true }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b.trim()));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (e) => resolve('ERR ' + e.code));
    });
    process.stdout.write(line + '\\n');
    await new Promise((r) => setTimeout(r, 20));
  }
})();`;

t.test('Services across two nodes: NodePort on every node, Local policy per node, LoadBalancer on node addresses', async (t) => {
  const lab = createNetLab(t, 2);
  const [h0, h1] = lab.hosts as [NetHost, NetHost];
  const c = await startCluster(t, ['--node-name', 'n0'], { agent: true, host: h0 });
  await startAgent(t, c, h1, { name: 'n1' });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));
  const pinned = (pod: any, node: string) => ({ ...pod, spec: { ...pod.spec, nodeName: node } });
  const objects = [
    pinned(webPod('web-0', { app: 'web' }), 'n0'),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client-1' },
      spec: { nodeName: 'n1', terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: BUSYBOX, command: ['sleep', '3600'] }] },
    },
    service('web', { app: 'web' }),
    service('web-np', { app: 'web' }, { type: 'NodePort' }),
    service('web-local', { app: 'web' }, { type: 'NodePort', externalTrafficPolicy: 'Local' }),
    {
      ...service('web-lb', { app: 'web' }, { type: 'LoadBalancer' }),
      spec: { selector: { app: 'web' }, type: 'LoadBalancer', ports: [{ port: 8081, targetPort: 'http' }] },
    },
  ];
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
  for (const name of ['web-0', 'client-1'])
    await podWhen(
      c,
      name,
      (p) => p.status?.phase === 'Running' && p.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'),
    );
  const spec = async (name: string) => JSON.parse(await c.k('get', 'service', name, '-o', 'json')).spec;
  const web = await spec('web');
  const np = (await spec('web-np')).ports[0].nodePort;
  const localNp = (await spec('web-local')).ports[0].nodePort;

  const fromPod = await eventually(
    async () => {
      const a = await getsFromPod(c, 'client-1', web.clusterIP, 80, 3);
      return a.every((x) => x === 'web-0') ? a : undefined;
    },
    { what: 'a pod on n1 to reach the ClusterIP of a pod on n0' },
  );
  t.same(fromPod, ['web-0', 'web-0', 'web-0'], 'a ClusterIP leads across nodes');

  for (const h of [h0, h1]) {
    const a = await eventually(
      async () => {
        const r = await getsFromOutside(`http://${h.ip}:${np}/`, 3);
        return r.every((x) => x === 'web-0') ? r : undefined;
      },
      { what: `the NodePort on ${h.name}` },
    );
    t.same(a, ['web-0', 'web-0', 'web-0'], `the NodePort answers on ${h.ip}, whichever node the pod is on`);
  }

  const local = await eventually(
    async () => {
      const r = await getsFromOutside(`http://${h0.ip}:${localNp}/cgi-bin/ip`, 1);
      return r[0]?.startsWith('ERR') ? undefined : r;
    },
    { what: 'the Local NodePort on the node with the endpoint' },
  );
  t.equal(clientAddress(local[0]!), lab.gateway, "Local on the endpoint's node: the client address is kept");
  const [none] = await getsFromOutside(`http://${h1.ip}:${localNp}/`, 1);
  t.equal(none, 'ERR TIMEOUT', 'Local on a node without an endpoint: dropped');

  const ingress = await eventually(
    async () => {
      const lb = JSON.parse(await c.k('get', 'service', 'web-lb', '-o', 'json'));
      const ips = (lb.status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip).sort();
      return ips.length === 2 ? ips : undefined;
    },
    { what: 'the LoadBalancer to get both node addresses' },
  );
  t.same(ingress, [h0.ip, h1.ip].sort());
  for (const ip of ingress) {
    const a = await eventually(
      async () => {
        const r = await getsFromOutside(`http://${ip}:8081/`, 2);
        return r.every((x) => x === 'web-0') ? r : undefined;
      },
      { what: `the LoadBalancer port on ${ip}` },
    );
    t.same(a, ['web-0', 'web-0'], `the LoadBalancer answers at ${ip}:8081`);
  }
});
