// Pod startup benchmark on a real node: a `skiff server` and a joined `skiff agent` (each its own
// process, from dist/), containerd run by the agent, busybox imported as a local image.
// Prints created→Running latency p50/p99 for N pods (default 30) created at once, next to the
// baseline of starting the same sandbox and container straight through CRI (no Kubernetes); the
// agent's RSS idle and with the pods; and the containerd calls the agent made per pod. Baseline and
// pods take turns, ROUNDS times (default 2), so that a machine busy with other work weighs on both.
//   npm run bench:pods -- [pods] [rounds]
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pods } from '../src/client/resources.js';
import { buildBusyboxImage } from '../test/helpers/images.js';
import { cpuSeconds, rssMiB, sleep, startBenchNode } from './bench-node.js';

const N = Number(process.argv[2] ?? 30);
const ROUNDS = Number(process.argv[3] ?? 2);
const IMAGE = 'skiff.local/busybox:1';
const node = await startBenchNode({ prepareAgent: (agentDir) => buildBusyboxImage(path.join(agentDir, 'agent', 'images'), IMAGE) });
const { root, api, server, agent, cri, kubeletPort, containerdPid } = node;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

/** containerd calls the agent made so far, read from its /metrics with the API server's client certificate. */
function criCalls(): Promise<Map<string, number>> {
  const tls = path.join(root, 'server', 'server', 'tls');
  return new Promise((resolve, reject) => {
    https
      .get(
        {
          host: '127.0.0.1',
          port: kubeletPort,
          path: '/metrics',
          cert: fs.readFileSync(path.join(tls, 'client-kube-apiserver.crt')),
          key: fs.readFileSync(path.join(tls, 'client-kube-apiserver.key')),
          rejectUnauthorized: false,
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () =>
            resolve(new Map([...text.matchAll(/^skiff_cri_calls_total\{method="(\w+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]))),
          );
        },
      )
      .on('error', reject);
  });
}

/** The N pods' sandboxes and containers started at once straight through CRI: each one's time. */
async function baselineRound(round: number): Promise<number[]> {
  const started = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const t0 = performance.now();
      const name = `base-${round}-${i}`;
      const sandboxConfig = {
        metadata: { name, namespace: 'bench', uid: name, attempt: 0 },
        hostname: name,
        logDirectory: path.join(root, 'base-logs'),
        linux: {},
      };
      const { podSandboxId } = await cri.runPodSandbox(sandboxConfig);
      const { containerId } = await cri.createContainer(
        podSandboxId,
        { metadata: { name: 'c', attempt: 0 }, image: { image: IMAGE }, command: ['sleep', '3600'], logPath: `c-${name}.log` },
        sandboxConfig,
      );
      await cri.startContainer(containerId);
      return { ms: performance.now() - t0, podSandboxId };
    }),
  );
  for (const { podSandboxId } of started) {
    await cri.stopPodSandbox(podSandboxId);
    await cri.removePodSandbox(podSandboxId);
  }
  return started.map((b) => b.ms);
}

/** N pods created at once through the API: each one's created→Running time, and the time until all ran. */
async function podsRound(round: number): Promise<{ latency: number[]; allMs: number }> {
  const created = new Map<string, number>();
  const runningAt = new Map<string, number>();
  const watch = new AbortController();
  const podClient = api.resource(pods);
  const watching = (async () => {
    for await (const ev of podClient.watch('default', { signal: watch.signal })) {
      const p = ev.object;
      if (p.status?.phase === 'Running' && !runningAt.has(p.metadata!.name!)) runningAt.set(p.metadata!.name!, performance.now());
    }
  })().catch(() => {});
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const name = `p${round}-${i}`;
      created.set(name, performance.now());
      await podClient.create({
        metadata: { name, namespace: 'default' },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }] },
      });
    }),
  );
  while (runningAt.size < N) await sleep(50);
  const allMs = performance.now() - t0;
  watch.abort();
  await watching;
  return { latency: [...created].map(([name, at]) => runningAt.get(name)! - at), allMs };
}

try {
  await sleep(3000);
  const idleRss = rssMiB(agent.pid!);
  const idleContainerd = rssMiB(containerdPid());
  const baseMs: number[] = [];
  const latency: number[] = [];
  const rounds: string[] = [];
  const calls = new Map<string, number>();
  // CPU seconds used while the pods started: the server, the agent, its containerd.
  const processes = [server.pid!, agent.pid!, containerdPid()];
  const cpu = [0, 0, 0];
  let busyRss = 0;
  let busyContainerd = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const base = await baselineRound(round);
    const callsBefore = await criCalls();
    const cpuBefore = processes.map(cpuSeconds);
    const run = await podsRound(round);
    for (const [i, pid] of processes.entries()) cpu[i]! += cpuSeconds(pid) - cpuBefore[i]!;
    for (const [m, n] of await criCalls()) calls.set(m, (calls.get(m) ?? 0) + n - (callsBefore.get(m) ?? 0));
    await sleep(2000);
    busyRss = Math.max(busyRss, rssMiB(agent.pid!));
    busyContainerd = Math.max(busyContainerd, rssMiB(containerdPid()));
    await node.deletePods();
    baseMs.push(...base);
    latency.push(...run.latency);
    rounds.push(
      `round ${round}: baseline p50 ${pct(base, 50).toFixed(0)} ms, created → Running p50 ${pct(run.latency, 50).toFixed(0)} ms ` +
        `(all after ${run.allMs.toFixed(0)} ms), ratio ${(pct(run.latency, 50) / pct(base, 50)).toFixed(2)}`,
    );
  }

  const used = [...calls].filter(([, n]) => n > 0);
  const total = used.reduce((s, [, n]) => s + n, 0);
  const started = N * ROUNDS;
  const relists = used.filter(([m]) => ['ListPodSandbox', 'ListContainers'].includes(m)).reduce((s, [, n]) => s + n, 0);
  console.log(
    `bench:pods — ${N} pods created at once on one real node (containerd, runc, CNI bridge), ${os.cpus().length} CPUs, ${ROUNDS} rounds`,
  );
  for (const line of rounds) console.log(line);
  console.log(
    `baseline: the same ${N} sandboxes + containers at once straight through CRI: ` +
      `p50 ${pct(baseMs, 50).toFixed(0)} ms, p99 ${pct(baseMs, 99).toFixed(0)} ms`,
  );
  console.log(`created → Running: p50 ${pct(latency, 50).toFixed(0)} ms, p99 ${pct(latency, 99).toFixed(0)} ms`);
  console.log(`ratio p50 / baseline p50: ${(pct(latency, 50) / pct(baseMs, 50)).toFixed(2)}`);
  console.log(
    `agent RSS: ${idleRss.toFixed(1)} MiB idle, ${busyRss.toFixed(1)} MiB with ${N} pods ` +
      `(its containerd: ${idleContainerd.toFixed(1)} → ${busyContainerd.toFixed(1)} MiB)`,
  );
  console.log(
    `CPU while the pods started, per pod: server ${((cpu[0]! / started) * 1000).toFixed(0)} ms, ` +
      `agent ${((cpu[1]! / started) * 1000).toFixed(0)} ms, its containerd ${((cpu[2]! / started) * 1000).toFixed(0)} ms`,
  );
  console.log(
    `containerd calls while starting them: ${total} in all, ${(total / started).toFixed(1)} per pod ` +
      `(of which node relists ${(relists / started).toFixed(1)})`,
  );
  console.log(`  ${used.map(([m, n]) => `${m} ${n}`).join(', ')}`);
} finally {
  await node.stop();
}
