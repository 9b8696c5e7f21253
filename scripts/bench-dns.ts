// Cluster DNS queries per second and latency, for bench:net. The server is Skiff's own (the zone,
// handler, forwarder with its cache, and UDP server of src/agent/network/dns) with a cluster of 1,000
// Services and 10,000 endpoints; the baseline, in the same run and on the same loopback, is a
// minimal responder that decodes each question and encodes one fixed A answer with the same DNS
// library, i.e. the floor any server written on it has. The load comes from a separate process
// (UDP, a fixed number of questions in flight, each timed), so it does not share the server's
// event loop. Three loads: cluster names (A of random Services), forwarded names served from the
// cache, and the baseline.
//   npx tsx scripts/bench-dns.ts [seconds=3] [in-flight=32]
//   npx tsx scripts/bench-dns.ts load <host> <port> <seconds> <in-flight> <name>...   (one load, JSON out;
//     run it inside a pod's or a node's network namespace with nsenter to measure from there)
// bench:net can call benchDns() and dnsLoad() itself.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { Forwarder } from '../src/agent/network/dns/forwarder.js';
import { DnsHandler } from '../src/agent/network/dns/handler.js';
import { ClusterRecords } from '../src/agent/network/dns/records.js';
import { startDnsServer } from '../src/agent/network/dns/server.js';
import { startFakeUpstream } from '../test/helpers/dns.js';

export interface LoadResult {
  queries: number;
  errors: number;
  seconds: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/**
 * Asks `names` (A, round robin) of a server over UDP from one socket, `inFlight` at a time, for
 * `seconds` (at most 2,000,000 questions); a question unanswered within a second counts as an error.
 */
export async function dnsLoad(host: string, port: number, names: string[], seconds: number, inFlight: number): Promise<LoadResult> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, r));
  const waiting = new Map<number, { done: () => void; timer: NodeJS.Timeout }>();
  socket.on('message', (msg) => {
    const id = dnsPacket.decode(msg).id ?? -1; // matched by id; the answers themselves are the unit tests' business
    const w = waiting.get(id);
    if (!w) return;
    waiting.delete(id);
    clearTimeout(w.timer);
    w.done();
  });
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  let nextId = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  const one = () =>
    new Promise<void>((resolve) => {
      let id = nextId++ & 0xffff;
      while (waiting.has(id)) id = nextId++ & 0xffff;
      const t0 = performance.now();
      const timer = setTimeout(() => {
        waiting.delete(id);
        errors++;
        resolve();
      }, 1000);
      waiting.set(id, {
        timer,
        done: () => {
          latencies.push(performance.now() - t0);
          resolve();
        },
      });
      const name = names[sent++ % names.length]!;
      socket.send(
        dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] }),
        port,
        host,
      );
    });
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end && sent < 2_000_000) await one();
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  socket.close();
  latencies.sort((a, b) => a - b);
  return {
    queries: latencies.length,
    errors,
    seconds: elapsed,
    qps: latencies.length / elapsed,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
  };
}

/** Runs dnsLoad in a child process (this file's `load` mode), so that the load has a core of its own. */
function loadFromAnotherProcess(host: string, port: number, names: string[], seconds: number, inFlight: number): Promise<LoadResult> {
  const file = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, file, 'load', host, String(port), String(seconds), String(inFlight), ...names],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load exited ${code}`))));
  });
}

/** The minimal responder: decode the question, encode one fixed A answer, send it back. */
async function startBaseline(host = '127.0.0.1', port = 0): Promise<{ port: number; close(): void }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, peer) => {
    const q = dnsPacket.decode(msg);
    const answer = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions,
      answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 5, data: '10.43.0.1' }],
    });
    socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((r) => socket.bind(port, host, r));
  return { port: socket.address().port, close: () => socket.close() };
}

export interface DnsBench {
  cluster: LoadResult;
  cached: LoadResult;
  baseline: LoadResult;
}

/** The three loads against servers in this process (see the top of this file); prints and answers them. */
export async function benchDns(seconds = 3, inFlight = 32): Promise<DnsBench> {
  const zone = new ClusterRecords('cluster.local', '10.43.0.10');
  for (let s = 0; s < 1000; s++) {
    const endpoints = Array.from({ length: 10 }, (_, e) => ({
      addresses: [`10.42.${s >> 4}.${((s & 15) << 4) + e}`],
      conditions: { ready: true },
    }));
    zone.setService(
      {
        metadata: { name: `svc-${s}`, namespace: 'bench' },
        spec: { clusterIP: `10.43.${s >> 8}.${s & 255}`, ports: [{ name: 'http', port: 80 }] },
      },
      [{ addressType: 'IPv4', endpoints, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
    );
  }
  const upstream = await startFakeUpstream('127.0.0.1', (q) => ({ answers: [{ type: 'A', name: q.name, ttl: 3600, data: '192.0.2.1' }] }));
  const forwarder = new Forwarder({ upstreams: () => [upstream] });
  const handler = new DnsHandler(zone, forwarder);
  const server = await startDnsServer('127.0.0.1', 0, (msg, transport) => handler.handle(msg, transport));
  const baseline = await startBaseline();
  try {
    const clusterNames = Array.from({ length: 1000 }, (_, i) => `svc-${(i * 7919) % 1000}.bench.svc.cluster.local`);
    const cachedNames = Array.from({ length: 100 }, (_, i) => `host-${i}.example.net`);
    for (const name of cachedNames) await forwarder.resolve({ name, type: 'A', class: 'IN' });
    const cluster = await loadFromAnotherProcess('127.0.0.1', server.udpPort, clusterNames, seconds, inFlight);
    const cached = await loadFromAnotherProcess('127.0.0.1', server.udpPort, cachedNames, seconds, inFlight);
    const base = await loadFromAnotherProcess('127.0.0.1', baseline.port, clusterNames, seconds, inFlight);
    const line = (name: string, r: LoadResult) =>
      `${name.padEnd(44)} ${r.qps.toFixed(0).padStart(7)} q/s   p50 ${r.p50Ms.toFixed(3).padStart(7)} ms   ` +
      `p99 ${r.p99Ms.toFixed(3).padStart(7)} ms   ${(r.qps / base.qps).toFixed(2)}x baseline${r.errors ? `   ${r.errors} unanswered` : ''}`;
    console.log(`cluster DNS, UDP on loopback, ${inFlight} questions in flight, ${seconds} s each (1,000 Services, 10,000 endpoints)`);
    console.log(line('cluster names (A, random Service)', cluster));
    console.log(line('forwarded names from the cache', cached));
    console.log(line('baseline: decode + fixed answer (dns-packet)', base));
    if (forwarder.sent !== cachedNames.length) console.log(`(the cache missed: ${forwarder.sent - cachedNames.length} upstream questions)`);
    return { cluster, cached, baseline: base };
  } finally {
    baseline.close();
    await server.close();
    await upstream.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'serve-baseline') {
    // The baseline responder on an address of its own (a node's), until killed: bench:net loads it from a pod.
    const [host, port] = rest;
    const b = await startBaseline(host, Number(port));
    console.log(`baseline listening on ${host}:${b.port}`);
  } else if (mode === 'load') {
    const [host, port, seconds, inFlight, ...names] = rest;
    const r = await dnsLoad(host!, Number(port), names, Number(seconds), Number(inFlight));
    process.stdout.write(JSON.stringify(r));
  } else {
    await benchDns(Number(mode ?? 3), Number(rest[0] ?? 32));
  }
}
