// API benchmark against a real `skiff server` over HTTPS (client certificate from its kubeconfig):
// creates, gets, lists of 1k objects, updates at 1/10/50 concurrent clients, watch delivery latency
// to 100 watchers, server RSS idle and after 10k objects, and time from process start to /readyz
// (the first start, which makes the data dir, and a restart on it; baseline: `node -e 0`).
// Baseline, measured in the same run: a plain HTTPS GET /healthz (the cost of the transport alone).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-api-'));
const port = 17000 + Math.floor(Math.random() * 2000);
const kubeconfigFile = path.join(root, 'kubeconfig.yaml');

/** Starts the server and resolves once /readyz answers 200 (and the kubeconfig is written), with the time it took. */
async function startServer(): Promise<{ proc: ChildProcess; readyMs: number }> {
  const started = performance.now();
  const proc = spawn(
    process.execPath,
    [
      'dist/skiff.js',
      'server',
      '--data-dir',
      path.join(root, 'data'),
      '--https-listen-port',
      String(port),
      '--bind-address',
      '127.0.0.1',
      '--write-kubeconfig',
      kubeconfigFile,
      '--config',
      '/dev/null',
      '--disable-agent',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  process.on('exit', () => proc.kill('SIGKILL'));
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = https.get({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
    });
    if (ok && fs.existsSync(kubeconfigFile)) return { proc, readyMs: performance.now() - started };
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Start-up: a bare `node -e 0` (the runtime's own start) as the baseline; the first start makes the
// data dir (PKI, database) and, a few seconds in, the program's code cache (dist/skiff.js); the
// restart finds both, and is the server the rest measures.
const nodeT0 = performance.now();
execFileSync(process.execPath, ['-e', '0']);
const nodeStartMs = performance.now() - nodeT0;
const first = await startServer();
const codeCached = () => fs.readdirSync('dist').some((f) => f.endsWith('.cache'));
for (let i = 0; i < 300 && !codeCached(); i++) await new Promise((r) => setTimeout(r, 100));
await new Promise((resolve) => {
  first.proc.once('exit', resolve);
  first.proc.kill('SIGTERM');
});
const { proc: server, readyMs } = await startServer();
const kc = YAML.parse(fs.readFileSync(kubeconfigFile, 'utf8'));
const b64 = (s: string) => Buffer.from(s, 'base64');
const agent = new https.Agent({
  keepAlive: true,
  maxSockets: 64,
  ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
  cert: b64(kc.users[0].user['client-certificate-data']),
  key: b64(kc.users[0].user['client-key-data']),
});

function call(method: string, urlPath: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method,
        agent,
        headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

async function measure(name: string, count: number, clients: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        const i = next++;
        const s = performance.now();
        await op(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const rate = count / ((performance.now() - t0) / 1000);
  console.log(
    `${name.padEnd(40)} ${rate.toFixed(0).padStart(7)} req/s   ` +
      `p50 ${pct(lat, 50).toFixed(2).padStart(7)} ms   p99 ${pct(lat, 99).toFixed(2).padStart(7)} ms`,
  );
  return rate;
}

function rssOfServer(): number {
  const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+)/)![1]) / 1024;
}

const ok = async (p: Promise<{ status: number; text: string }>, want: number) => {
  const r = await p;
  if (r.status !== want) throw new Error(`expected ${want}, got ${r.status}: ${r.text.slice(0, 200)}`);
  return r;
};

console.log(`skiff API benchmark (server pid ${server.pid}, port ${port})`);
console.log(
  `time from process start to /readyz: first start ${first.readyMs.toFixed(0)} ms, restart ${readyMs.toFixed(0)} ms ` +
    `(baseline: node -e 0 ${nodeStartMs.toFixed(0)} ms)`,
);
console.log(`server RSS idle: ${rssOfServer().toFixed(1)} MiB`);
const cm = (name: string, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data: { payload: 'x'.repeat(200) },
});
const N = Number(process.env.BENCH_N ?? 1000);
for (const clients of [1, 10, 50]) {
  console.log(`-- ${clients} concurrent client(s)`);
  const baseline = await measure(`baseline: GET /healthz`, N, clients, () => ok(call('GET', '/healthz'), 200));
  const ns = `bench-${clients}`;
  await ok(call('POST', '/api/v1/namespaces', { metadata: { name: ns } }), 201);
  const create = await measure('create configmap', N, clients, (i) =>
    ok(call('POST', `/api/v1/namespaces/${ns}/configmaps`, cm(`cm-${i}`)), 201),
  );
  await measure('get configmap', N, clients, (i) => ok(call('GET', `/api/v1/namespaces/${ns}/configmaps/cm-${i}`), 200));
  await measure(`list ${N} configmaps`, Math.max(20, clients * 2), clients, () =>
    ok(call('GET', `/api/v1/namespaces/${ns}/configmaps`), 200),
  );
  await measure(
    'update configmap (merge patch)',
    N,
    clients,
    (i) =>
      new Promise((resolve, reject) => {
        const data = JSON.stringify({ data: { n: String(i) } });
        const req = https.request(
          {
            host: '127.0.0.1',
            port,
            path: `/api/v1/namespaces/${ns}/configmaps/cm-${i}`,
            method: 'PATCH',
            agent,
            headers: { 'content-type': 'application/merge-patch+json', 'content-length': data.length },
          },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve(undefined) : reject(new Error(`patch ${res.statusCode}`))));
          },
        );
        req.on('error', reject);
        req.end(data);
      }),
  );
  console.log(`ratio create/baseline at ${clients}: ${(create / baseline).toFixed(3)}`);
}

// Watch delivery latency to 100 watchers.
const watchers = 100;
const events = 50;
const sentAt = new Map<string, number>();
const latencies: number[] = [];
await ok(call('POST', '/api/v1/namespaces', { metadata: { name: 'bench-watch' } }), 201);
const rv = JSON.parse((await call('GET', '/api/v1/namespaces/bench-watch/configmaps')).text).metadata.resourceVersion;
const streams = await Promise.all(
  Array.from(
    { length: watchers },
    () =>
      // Resolves with a holder: a promise resolved with a promise would wait for the inner one.
      new Promise<{ done: Promise<void> }>((ready) => {
        https.get(
          {
            host: '127.0.0.1',
            port,
            // Only the benchmark's objects: the namespace's kube-root-ca.crt may come after the list.
            path: `/api/v1/namespaces/bench-watch/configmaps?watch=1&resourceVersion=${rv}&labelSelector=bench%3Dwatch`,
            agent: new https.Agent({ ca: agent.options.ca, cert: agent.options.cert, key: agent.options.key }),
          },
          (res) => {
            let buf = '';
            let seen = 0;
            ready({
              done: new Promise<void>((done) => {
                res.on('data', (d) => {
                  const now = performance.now();
                  buf += d;
                  let i: number;
                  while ((i = buf.indexOf('\n')) >= 0) {
                    const ev = JSON.parse(buf.slice(0, i));
                    buf = buf.slice(i + 1);
                    latencies.push(now - sentAt.get(ev.object.metadata.name)!);
                    if (++seen === events) {
                      res.destroy();
                      done();
                    }
                  }
                });
              }),
            });
          },
        );
      }),
  ),
);
for (let i = 0; i < events; i++) {
  sentAt.set(`w-${i}`, performance.now());
  await ok(call('POST', '/api/v1/namespaces/bench-watch/configmaps', cm(`w-${i}`, { bench: 'watch' })), 201);
}
await Promise.all(streams.map((s) => s.done));
console.log(
  `watch delivery to ${watchers} watchers: ${latencies.length} deliveries   ` +
    `p50 ${pct(latencies, 50).toFixed(2)} ms   p99 ${pct(latencies, 99).toFixed(2)} ms`,
);

// Fill to 10k objects and measure memory.
const have = 3 * N + events;
await ok(call('POST', '/api/v1/namespaces', { metadata: { name: 'bench-fill' } }), 201);
await measure('fill to 10k objects (create, 50 clients)', Math.max(0, 10_000 - have), 50, (i) =>
  ok(call('POST', '/api/v1/namespaces/bench-fill/configmaps', cm(`f-${i}`)), 201),
);
console.log(`server RSS after 10k objects: ${rssOfServer().toFixed(1)} MiB`);
server.kill('SIGTERM');
fs.rmSync(root, { recursive: true, force: true });
process.exit(0);
