// Pod-to-pod throughput across nodes, for bench:net: a real two-node cluster (the server with its own
// agent and a joined agent, each in a network namespace of its own on one bridge, as the e2e tests
// run them), a pod on each node, and Debian's iperf3 run inside the pods' network namespaces (found
// through CRI) from one pod to the other; the baseline is iperf3 between the two nodes' own
// addresses over the same veths, in the same run. Prints both and their ratio. Needs root, iperf3,
// containerd, runc and the CNI plugins (what the e2e tests need).
//   npx tsx scripts/bench-pod-network.ts [vxlan|host-gw] [seconds=5]
// bench:net can call measurePodThroughput() itself.
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { CriClient } from '../src/cri/client.js';
import { startAgent } from '../test/helpers/agents.js';
import { startCluster, type Cluster } from '../test/helpers/cluster.js';
import { createNetLab, type NetHost } from '../test/helpers/netlab.js';
import { BUSYBOX } from '../test/helpers/node-env.js';
import { podWhen } from '../test/helpers/pods.js';

export interface PodThroughput {
  backend: 'vxlan' | 'host-gw';
  /** bits per second, as iperf3's receiver counted them */
  podToPod: number;
  /** the baseline: node to node over the same veths */
  hostToHost: number;
}

/** The test helpers' teardowns, run last-registered first, without tap. */
function teardowns(): { t: Test; run(): Promise<void> } {
  const fns: (() => unknown)[] = [];
  const t = { teardown: (fn: () => unknown) => void fns.push(fn), comment: (...m: unknown[]) => console.error(...m) };
  return {
    t: t as unknown as Test,
    async run() {
      for (const fn of fns.reverse()) await Promise.resolve(fn()).catch((err: Error) => console.error(`cleanup: ${err.message}`));
    },
  };
}

/** The network namespace of a pod's sandbox, from containerd's verbose sandbox status. */
async function podNetns(socket: string, pod: string): Promise<string> {
  const cri = new CriClient(socket);
  try {
    const sandbox = (await cri.listPodSandbox()).find((s) => s.metadata?.name === pod && s.state === 'SANDBOX_READY');
    if (!sandbox) throw new Error(`no ready sandbox for pod ${pod}`);
    const info = JSON.parse((await cri.podSandboxStatus(sandbox.id, true)).info.info ?? '{}');
    const ns = (info.runtimeSpec?.linux?.namespaces ?? []).find((n: { type: string }) => n.type === 'network');
    if (!ns?.path) throw new Error(`pod ${pod}'s sandbox has no network namespace path`);
    return ns.path as string;
  } finally {
    cri.close();
  }
}

/** One iperf3 run from namespace `client` to a one-shot server in namespace `server` at `ip`; bits/s received. */
async function iperf(server: string, client: string, ip: string, seconds: number): Promise<number> {
  const srv = spawn('nsenter', [`--net=${server}`, 'iperf3', '-s', '-1', '-p', '5201', '--forceflush'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = new Promise((r) => srv.once('exit', r));
  try {
    await new Promise<void>((resolve, reject) => {
      srv.stdout!.on('data', (d: Buffer) => /listening/i.test(d.toString()) && resolve());
      srv.once('exit', (code) => reject(new Error(`iperf3 server exited ${code}`)));
    });
    const out = await new Promise<string>((resolve, reject) =>
      execFile('nsenter', [`--net=${client}`, 'iperf3', '-c', ip, '-p', '5201', '-t', String(seconds), '-J'], (err, stdout) =>
        err ? reject(new Error(`iperf3 -c ${ip}: ${stdout || err.message}`)) : resolve(stdout),
      ),
    );
    return JSON.parse(out).end.sum_received.bits_per_second as number;
  } finally {
    srv.kill();
    await done;
  }
}

/** Two real nodes in lab namespaces with a busybox pod on each, as bench:net's parts need them. */
export interface BenchLab {
  cluster: Cluster;
  hosts: [NetHost, NetHost];
  /** Each pod's network namespace path and IP, by node (n0, n1). */
  podNetns: Record<'n0' | 'n1', string>;
  podIP: Record<'n0' | 'n1', string>;
}

/** Runs `work` on a fresh two-node lab (vxlan or host-gw) and takes the lab down after, whatever happens. */
export async function withBenchLab<T>(backend: 'vxlan' | 'host-gw', work: (lab: BenchLab) => Promise<T>): Promise<T> {
  const { t, run } = teardowns();
  // Interrupted: the lab, the nodes and their pods still go.
  const interrupted = () => void run().then(() => process.exit(130));
  process.once('SIGINT', interrupted);
  const step = (what: string) => console.error(`bench lab: ${what}`);
  try {
    step(`starting two nodes (${backend})`);
    const lab = createNetLab(t, 2);
    const [h0, h1] = lab.hosts as [NetHost, NetHost];
    const c = await startCluster(t, ['--node-name', 'n0', '--flannel-backend', backend], { agent: true, host: h0 });
    const agent = await startAgent(t, c, h1, { name: 'n1' });
    t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));
    const sockets = { n0: c.node!.socket, n1: agent.node.socket };
    for (const node of ['n0', 'n1']) {
      const overrides = JSON.stringify({ spec: { nodeName: node, terminationGracePeriodSeconds: 1 } });
      await c.k('run', `bench-${node}`, `--image=${BUSYBOX}`, '--overrides', overrides, '--', 'sleep', '3600');
    }
    const podIP = { n0: '', n1: '' };
    for (const node of ['n0', 'n1'] as const)
      podIP[node] = (await podWhen(c, `bench-${node}`, (p) => p.status?.phase === 'Running' && !!p.status.podIP)).status.podIP;
    step('pods running; finding their network namespaces');
    const podNs = { n0: await podNetns(sockets.n0, 'bench-n0'), n1: await podNetns(sockets.n1, 'bench-n1') };
    // The first packets wait for the other node's entries; ping until the path is there.
    for (let i = 0; ; i++) {
      const ok = await new Promise((r) =>
        execFile('nsenter', [`--net=${podNs.n0}`, 'busybox', 'ping', '-c', '1', '-W', '1', podIP.n1], (e) => r(!e)),
      );
      if (ok) break;
      if (i > 60) throw new Error(`pod bench-n0 cannot reach bench-n1 at ${podIP.n1}`);
    }
    return await work({ cluster: c, hosts: [h0, h1], podNetns: podNs, podIP });
  } finally {
    process.off('SIGINT', interrupted);
    step('cleaning up');
    await run();
  }
}

/** iperf3 pod to pod across the nodes, next to node to node over the same veths. */
export async function podThroughput(lab: BenchLab, backend: 'vxlan' | 'host-gw', seconds = 5): Promise<PodThroughput> {
  const [h0, h1] = lab.hosts;
  console.error(`bench lab: iperf3 host → host, then pod → pod, ${seconds} s each`);
  const hostToHost = await iperf(`/run/netns/${h1.netns}`, `/run/netns/${h0.netns}`, h1.ip, seconds);
  const podToPod = await iperf(lab.podNetns.n1, lab.podNetns.n0, lab.podIP.n1, seconds);
  return { backend, podToPod, hostToHost };
}

export function measurePodThroughput(opts: { backend?: 'vxlan' | 'host-gw'; seconds?: number } = {}): Promise<PodThroughput> {
  const backend = opts.backend ?? 'vxlan';
  return withBenchLab(backend, (lab) => podThroughput(lab, backend, opts.seconds));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const backend = (process.argv[2] ?? 'vxlan') as 'vxlan' | 'host-gw';
  const r = await measurePodThroughput({ backend, seconds: Number(process.argv[3] ?? 5) });
  const gbit = (b: number) => `${(b / 1e9).toFixed(2)} Gbit/s`;
  console.log(`pod → pod across nodes (${r.backend}): ${gbit(r.podToPod)}`);
  console.log(`host → host, same veths (baseline): ${gbit(r.hostToHost)}`);
  console.log(`ratio: ${(r.podToPod / r.hostToHost).toFixed(2)}`);
  process.exit(0);
}
