// Scale benchmark: a real `skiff server` (controllers and scheduler in it), N hollow nodes (default
// 50) in this process, and M pods (default 1500) created through Deployments of 30 replicas.
// Prints the time until every pod is Running, scheduling throughput (overall and per slice of pods
// bound, next to the first slice's, the baseline: flat scheduling keeps the ratio near 1; and how
// fast the controllers created the same slice), API latency while it happens (next to the same
// probe on the idle server, the baseline), and the server's RSS and CPU seconds.
//   npm run bench:scale -- [nodes] [pods] [slice]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HollowNode } from '../src/agent/hollow-node.js';
import { loadKubeconfig } from '../src/client/kubeconfig.js';
import { ApiClient } from '../src/client/rest-client.js';
import { deployments, pods } from '../src/client/resources.js';
import { httpsTransport } from '../src/client/transport.js';

const NODES = Number(process.argv[2] ?? 50);
const PODS = Number(process.argv[3] ?? 1500);
const PER_DEPLOYMENT = 30;
const SLICE = Number(process.argv[4] ?? Math.max(100, Math.ceil(PODS / 10)));

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-scale-'));
const port = 19000 + Math.floor(Math.random() * 2000);
const kubeconfig = path.join(root, 'kubeconfig.yaml');
const server = spawn(
  process.execPath,
  [
    ...(process.env.SKIFF_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.SKIFF_BENCH_PROF] : []),
    'dist/skiff.js',
    'server',
    '--data-dir',
    path.join(root, 'data'),
    '--https-listen-port',
    String(port),
    '--bind-address',
    '127.0.0.1',
    '--write-kubeconfig',
    kubeconfig,
    '--config',
    '/dev/null',
    '--disable-agent',
  ],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
process.on('exit', () => {
  // SIGTERM lets a profiled server write its profile.
  server.kill(process.env.SKIFF_BENCH_PROF ? 'SIGTERM' : 'SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});
await new Promise<void>((resolve, reject) => {
  server.stderr!.on('data', (d: Buffer) => d.toString().includes('skiff server ready') && resolve());
  server.on('exit', (code) => reject(new Error(`server exited ${code}`)));
});

const api = new ApiClient(httpsTransport(loadKubeconfig(kubeconfig)), 'bench');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;
const ms = (x: number) => `${x.toFixed(2)} ms`;

/** GET latencies of a small read, every 20 ms, until stopped. */
function probe(): { stop(): Promise<number[]> } {
  const lat: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      await api.resource(deployments).list('default', { limit: 1 });
      lat.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return lat;
    },
  };
}

function serverUsage(): { rssMiB: number; cpuSeconds: number } {
  const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = fs.readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { rssMiB: rssKiB / 1024, cpuSeconds: ticks / 100 };
}

// Warm up the connection and the server's code paths before measuring the baseline.
{
  const warm = probe();
  await new Promise((r) => setTimeout(r, 500));
  await warm.stop();
}
await new Promise((r) => setTimeout(r, 500));
const idleProbe = probe();
await new Promise((r) => setTimeout(r, 2000));
const idle = await idleProbe.stop();

const nodes = Array.from(
  { length: NODES },
  (_, i) => new HollowNode(api, { name: `hollow-${i}`, capacity: { cpu: '32', memory: '64Gi', pods: '110' } }),
);
await Promise.all(nodes.map((n) => n.start()));
const before = serverUsage();

// When each pod was first seen, bound and Running.
const created = new Map<string, number>();
const bound = new Map<string, number>();
const running = new Map<string, number>();
const watcher = new AbortController();
void (async () => {
  for await (const e of api.resource(pods).watch(undefined, { signal: watcher.signal, timeoutSeconds: 1800 })) {
    const uid = e.object.metadata!.uid!;
    if (!created.has(uid)) created.set(uid, performance.now());
    if (e.object.spec?.nodeName && !bound.has(uid)) bound.set(uid, performance.now());
    if (e.object.status?.phase === 'Running' && !running.has(uid)) running.set(uid, performance.now());
  }
})().catch(() => {});

const loadProbe = probe();
const start = performance.now();
const count = Math.ceil(PODS / PER_DEPLOYMENT);
await Promise.all(
  Array.from({ length: count }, (_, i) => {
    const replicas = Math.min(PER_DEPLOYMENT, PODS - i * PER_DEPLOYMENT);
    const labels = { app: `scale-${i}` };
    return api.resource(deployments).create({
      metadata: { name: `scale-${i}`, namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
        },
      },
    });
  }),
);
while (running.size < PODS) {
  if (performance.now() - start > 30 * 60_000) throw new Error(`only ${running.size} of ${PODS} pods running after 30 minutes`);
  await new Promise((r) => setTimeout(r, 100));
}
const allRunningMs = performance.now() - start;
const loaded = await loadProbe.stop();
watcher.abort();
const after = serverUsage();
const bindTimes = [...bound.values()].sort((a, b) => a - b);
const schedulingSeconds = (bindTimes[bindTimes.length - 1]! - start) / 1000;

console.log(`bench:scale: ${NODES} hollow nodes, ${PODS} pods in ${count} Deployments`);
console.log(`  all pods Running after        ${(allRunningMs / 1000).toFixed(2)} s`);
console.log(
  `  scheduling throughput         ${(bound.size / schedulingSeconds).toFixed(1)} pods/s ` +
    `(${bound.size} bound in ${schedulingSeconds.toFixed(2)} s)`,
);
// Rates per slice of pods, the first slice starting when the Deployments were created. Pods are
// bound as fast as they are created unless the scheduler falls behind: the creation rate says which.
const sliceRates = (times: number[]) => {
  const rates: number[] = [];
  for (let i = SLICE; i <= times.length; i += SLICE)
    rates.push((SLICE * 1000) / (times[i - 1]! - (i === SLICE ? start : times[i - SLICE - 1]!)));
  return rates;
};
const slices = sliceRates(bindTimes);
const creations = sliceRates([...created.values()].sort((a, b) => a - b));
for (const [i, rate] of slices.entries())
  console.log(
    `  pods ${String(i * SLICE + 1).padStart(6)}-${String((i + 1) * SLICE).padEnd(6)}       bound ${rate.toFixed(1)} pods/s` +
      (i ? ` (${(rate / slices[0]!).toFixed(2)} of the first slice)` : ' (baseline)') +
      `, created ${creations[i]?.toFixed(1)} pods/s`,
  );
console.log(`  API latency, idle (baseline)  p50 ${ms(pct(idle, 50))}  p99 ${ms(pct(idle, 99))}  (${idle.length} probes)`);
console.log(`  API latency during the run    p50 ${ms(pct(loaded, 50))}  p99 ${ms(pct(loaded, 99))}  (${loaded.length} probes)`);
console.log(
  `  ratio loaded/idle             p50 ${(pct(loaded, 50) / pct(idle, 50)).toFixed(2)}  ` +
    `p99 ${(pct(loaded, 99) / pct(idle, 99)).toFixed(2)}`,
);
console.log(
  `  server RSS                    ${before.rssMiB.toFixed(1)} MiB with the nodes registered, ${after.rssMiB.toFixed(1)} MiB at the end`,
);
console.log(
  `  server CPU                    ${(after.cpuSeconds - before.cpuSeconds).toFixed(1)} s during the run ` +
    `(${after.cpuSeconds.toFixed(1)} s in all)`,
);
for (const n of nodes) n.stop();
process.exit(0);
