// npm run bench:net: the cluster network's figures, each next to a baseline measured in the same run.
//   1. Service rules with 1,000 Services and 10,000 endpoints: the first table, a full resync, and an
//      EndpointSlice change until its rules are in force (scripts/bench-service-proxy.ts, in a
//      network namespace of its own).
//   2. Cluster DNS on loopback: cluster names and cached forwarded names against a minimal responder
//      on the same DNS library (scripts/bench-dns.ts).
//   3. On two real nodes in lab namespaces (scripts/bench-pod-network.ts): DNS from a pod to its
//      node's cluster DNS server next to the same load against the minimal responder on the node's
//      address; and pod-to-pod throughput across the nodes (iperf3) next to node to node over the
//      same veths.
// Needs root, nftables, iperf3, containerd, runc and the CNI plugins (what the e2e tests need).
//   npm run bench:net -- [vxlan|host-gw]
import { execFile, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDns, type LoadResult } from './bench-dns.js';
import { type BenchLab, podThroughput, withBenchLab } from './bench-pod-network.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const backend = (process.argv[2] ?? 'vxlan') as 'vxlan' | 'host-gw';
const ms = (n: number) => `${n.toFixed(3)} ms`;
const DNS_SECONDS = 3;
const IN_FLIGHT = 32;

function section(title: string): void {
  console.log(`\n== ${title}`);
}

/** The DNS load of bench-dns.ts, run inside a network namespace (a pod's), answered as JSON. */
function loadFrom(netns: string, host: string, port: number, names: string[]): Promise<LoadResult> {
  const args = [`--net=${netns}`, process.execPath, ...process.execArgv, path.join(here, 'bench-dns.ts'), 'load', host, String(port)];
  return new Promise((resolve, reject) =>
    execFile('nsenter', [...args, String(DNS_SECONDS), String(IN_FLIGHT), ...names], (err, stdout, stderr) =>
      err ? reject(new Error(`DNS load from ${netns}: ${stderr || err.message}`)) : resolve(JSON.parse(stdout) as LoadResult),
    ),
  );
}

/** Cluster DNS from a pod on n0: its node's own server at the cluster DNS address, then the baseline on the node. */
async function dnsFromPod(lab: BenchLab): Promise<void> {
  const [h0] = lab.hosts;
  const names = ['kubernetes.default.svc.cluster.local', 'kube-dns.kube-system.svc.cluster.local'];
  const baseline = spawn(
    'nsenter',
    [
      `--net=/run/netns/${h0.netns}`,
      process.execPath,
      ...process.execArgv,
      path.join(here, 'bench-dns.ts'),
      'serve-baseline',
      h0.ip,
      '5353',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      baseline.stdout!.on('data', (d: Buffer) => /listening/.test(d.toString()) && resolve());
      baseline.once('exit', (code) => reject(new Error(`the baseline responder exited ${code}`)));
    });
    const cluster = await loadFrom(lab.podNetns.n0, '10.43.0.10', 53, names);
    const base = await loadFrom(lab.podNetns.n0, h0.ip, 5353, names);
    const line = (name: string, r: LoadResult) =>
      `  ${name.padEnd(40)} ${r.qps.toFixed(0).padStart(7)} q/s   p50 ${ms(r.p50Ms)}   p99 ${ms(r.p99Ms)}   ` +
      `${(r.qps / base.qps).toFixed(2)}x baseline${r.errors ? `   ${r.errors} unanswered` : ''}`;
    console.log(`  from a pod on n0, UDP, ${IN_FLIGHT} in flight, ${DNS_SECONDS} s each`);
    console.log(line("the node's cluster DNS (10.43.0.10)", cluster));
    console.log(line('baseline: minimal responder on the node', base));
  } finally {
    baseline.kill();
  }
}

section('Service rules (nftables), 1,000 Services and 10,000 endpoints');
const proxy = spawnSync(process.execPath, [...process.execArgv, path.join(here, 'bench-service-proxy.ts'), '1000', '10'], {
  stdio: 'inherit',
});
if (proxy.status !== 0) process.exitCode = 1;

section('Cluster DNS on loopback');
await benchDns(DNS_SECONDS, IN_FLIGHT);

section(`Two nodes (${backend}): DNS from a pod, and pod-to-pod throughput`);
const throughput = await withBenchLab(backend, async (lab) => {
  await dnsFromPod(lab);
  return podThroughput(lab, backend);
});
const gbit = (b: number) => `${(b / 1e9).toFixed(2)} Gbit/s`;
console.log(`  pod → pod across nodes:            ${gbit(throughput.podToPod)}`);
console.log(`  host → host, same veths (baseline): ${gbit(throughput.hostToHost)}`);
console.log(`  ratio: ${(throughput.podToPod / throughput.hostToHost).toFixed(2)}`);
process.exit(process.exitCode ?? 0);
