// Pod startup benchmark on a real node: a `skiff server` and a joined `skiff agent` (each its own
// process, from dist/), containerd run by the agent, busybox imported as a local image.
// Prints created→Running latency p50/p99 for N pods (default 30) created at once, next to the
// baseline of starting the same sandbox and container straight through CRI (no Kubernetes); the
// agent's RSS idle and with the pods; and the containerd calls the agent made per pod.
//   npm run bench:pods -- [pods]
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pods } from '../src/client/resources.js';
import { buildBusyboxImage } from '../test/helpers/images.js';
import { rssMiB, sleep, startBenchNode } from './bench-node.js';

const N = Number(process.argv[2] ?? 30);
const IMAGE = 'skiff.local/busybox:1';
const node = await startBenchNode({ prepareAgent: (agentDir) => buildBusyboxImage(path.join(agentDir, 'agent', 'images'), IMAGE) });
const { root, api, agent, cri, kubeletPort, containerdPid } = node;
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

try {
  await sleep(3000);
  const idleRss = rssMiB(agent.pid!);
  const idleContainerd = rssMiB(containerdPid());

  // Baseline: the same N pods started at once straight through CRI (sandbox, container, start).
  const baseT0 = performance.now();
  const baseline = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const t0 = performance.now();
      const sandboxConfig = {
        metadata: { name: `base-${i}`, namespace: 'bench', uid: `base-${i}`, attempt: 0 },
        hostname: `base-${i}`,
        logDirectory: path.join(root, 'base-logs'),
        linux: {},
      };
      const { podSandboxId } = await cri.runPodSandbox(sandboxConfig);
      const { containerId } = await cri.createContainer(
        podSandboxId,
        { metadata: { name: 'c', attempt: 0 }, image: { image: IMAGE }, command: ['sleep', '3600'], logPath: `c-${i}.log` },
        sandboxConfig,
      );
      await cri.startContainer(containerId);
      return { ms: performance.now() - t0, podSandboxId };
    }),
  );
  const baseAll = performance.now() - baseT0;
  for (const { podSandboxId } of baseline) {
    await cri.stopPodSandbox(podSandboxId);
    await cri.removePodSandbox(podSandboxId);
  }
  const baseMs = baseline.map((b) => b.ms);

  const callsBefore = await criCalls();
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
      const name = `p${i}`;
      created.set(name, performance.now());
      await podClient.create({
        metadata: { name, namespace: 'default' },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }] },
      });
    }),
  );
  while (runningAt.size < N) await sleep(50);
  const allRunning = performance.now() - t0;
  const callsAfter = await criCalls();
  await sleep(2000);
  const busyRss = rssMiB(agent.pid!);
  const busyContainerd = rssMiB(containerdPid());
  watch.abort();
  await watching;

  const latency = [...created].map(([name, at]) => runningAt.get(name)! - at);
  const calls = [...callsAfter].map(([m, n]) => [m, n - (callsBefore.get(m) ?? 0)] as const).filter(([, n]) => n > 0);
  const total = calls.reduce((s, [, n]) => s + n, 0);
  const perPodMethods = calls.filter(([m]) => !['ListPodSandbox', 'ListContainers', 'Status', 'Version'].includes(m));
  console.log(`bench:pods — ${N} pods created at once on one real node (containerd, runc, CNI bridge), ${os.cpus().length} CPUs`);
  console.log(
    `baseline: the same ${N} sandboxes + containers at once straight through CRI: ` +
      `p50 ${pct(baseMs, 50).toFixed(0)} ms, p99 ${pct(baseMs, 99).toFixed(0)} ms; all after ${baseAll.toFixed(0)} ms`,
  );
  console.log(
    `created → Running: p50 ${pct(latency, 50).toFixed(0)} ms, p99 ${pct(latency, 99).toFixed(0)} ms; ` +
      `all ${N} Running after ${allRunning.toFixed(0)} ms`,
  );
  console.log(`ratio p50 / baseline p50: ${(pct(latency, 50) / pct(baseMs, 50)).toFixed(2)}`);
  console.log(
    `agent RSS: ${idleRss.toFixed(1)} MiB idle, ${busyRss.toFixed(1)} MiB with ${N} pods ` +
      `(its containerd: ${idleContainerd.toFixed(1)} → ${busyContainerd.toFixed(1)} MiB)`,
  );
  console.log(
    `containerd calls while starting them: ${total} in all, ${(total / N).toFixed(1)} per pod; ` +
      `without the once-a-second relists and status checks ${(perPodMethods.reduce((s, [, n]) => s + n, 0) / N).toFixed(1)} per pod`,
  );
  console.log(`  ${calls.map(([m, n]) => `${m} ${n}`).join(', ')}`);
} finally {
  await node.stop();
}
