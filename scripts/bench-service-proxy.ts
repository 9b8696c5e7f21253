// The Service rules at scale, for bench:net: N Services with M endpoints each, fed to the real
// ServiceProxy loop (render, diff, `nft -f`) in a network namespace of its own. Prints the full
// resync (render + apply of the whole table) and the time from an EndpointSlice change to its rules
// being in force, p50 and max over several changes. Needs root (nft in a fresh namespace).
//   npx tsx scripts/bench-service-proxy.ts [services=1000] [endpoints per service=10]
// bench:net can call measureServiceProxy() itself; it must then run in a namespace it may fill.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { type ObjectSource, ServiceProxy, type SyncResult } from '../src/agent/network/services/proxy.js';
import { removeServiceRules } from '../src/agent/network/services/nft.js';

type Handlers<T> = { add?(o: T): void; update?(old: T, o: T): void; delete?(o: T): void };

/** A source the benchmark changes by hand, in place of an informer. */
class Source<T> implements ObjectSource<T> {
  private readonly handlers: Handlers<T>[] = [];
  constructor(readonly items: T[]) {}
  list(): T[] {
    return this.items;
  }
  on(h: Handlers<T>): void {
    this.handlers.push(h);
  }
  synced(): Promise<void> {
    return Promise.resolve();
  }
  replace(i: number, obj: T): void {
    const old = this.items[i]!;
    this.items[i] = obj;
    for (const h of this.handlers) h.update?.(old, obj);
  }
}

const NODE = { nodeName: 'n0', clusterCIDR: '10.42.0.0/16', serviceCIDR: '10.43.0.0/16', clusterDNS: '10.43.0.10' };

const ip = (base: string, n: number) => `${base}.${(n >> 8) & 255}.${n & 255}`;

function cluster(services: number, perService: number): { svcs: Service[]; slices: EndpointSlice[] } {
  const svcs: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    svcs.push({
      metadata: { name, namespace: 'bench' },
      spec: { type: 'ClusterIP', clusterIP: ip('10.43', 256 + i), ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    slices.push(slice(name, i, perService, 0));
  }
  return { svcs, slices };
}

function slice(name: string, i: number, perService: number, generation: number): EndpointSlice {
  return {
    metadata: { name: `${name}-x`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: perService }, (_, j) => ({
      // A new generation moves the first endpoint: one pod replaced.
      addresses: [ip(j === 0 && generation ? `10.${100 + generation}` : '10.42', i * perService + j)],
      conditions: { ready: true },
      nodeName: `n${j % 3}`,
    })),
  };
}

export interface ServiceProxyFigures {
  services: number;
  endpoints: number;
  /** First table: render and apply, ms. */
  firstSyncMs: number;
  /** Whole table rendered and applied again, ms (median of 3). */
  fullResyncMs: number;
  renderMs: number;
  /** EndpointSlice change to rules in force, ms. */
  changeToRulesP50Ms: number;
  changeToRulesMaxMs: number;
}

/** Runs the loop against the real nft of the current network namespace; leaves no table behind. */
export async function measureServiceProxy(services = 1000, perService = 10, changes = 7): Promise<ServiceProxyFigures> {
  const { svcs, slices } = cluster(services, perService);
  const svcSource = new Source(svcs);
  const sliceSource = new Source(slices);
  let waiter: ((r: SyncResult) => void) | undefined;
  const proxy = new ServiceProxy(svcSource, sliceSource, { node: NODE, checkEveryMs: 0, onSync: (r) => waiter?.(r) });
  try {
    let t0 = performance.now();
    await proxy.start();
    const firstSyncMs = performance.now() - t0;
    const full: SyncResult[] = [];
    for (let i = 0; i < 3; i++) full.push(await proxy.syncNow(true));
    full.sort((a, b) => a.renderMs + a.applyMs - (b.renderMs + b.applyMs));
    const latencies: number[] = [];
    for (let g = 1; g <= changes; g++) {
      const done = new Promise<SyncResult>((resolve) => (waiter = resolve));
      const i = (g * 7919) % services;
      t0 = performance.now();
      sliceSource.replace(i, slice(`svc-${i}`, i, perService, g));
      const r = await done;
      if (!r.applied) throw new Error('a changed slice did not change the rules');
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    const mid = full[1]!;
    return {
      services,
      endpoints: services * perService,
      firstSyncMs,
      fullResyncMs: mid.renderMs + mid.applyMs,
      renderMs: mid.renderMs,
      changeToRulesP50Ms: latencies[Math.floor(latencies.length / 2)]!,
      changeToRulesMaxMs: latencies.at(-1)!,
    };
  } finally {
    proxy.stop();
    await removeServiceRules();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.env.SKIFF_BENCH_NETNS) {
    // Into a network namespace of our own: the table goes with it.
    const r = spawnSync('unshare', ['-n', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, SKIFF_BENCH_NETNS: '1' },
    });
    process.exit(r.status ?? 1);
  }
  const f = await measureServiceProxy(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 10));
  const ms = (n: number) => `${n.toFixed(0)} ms`;
  console.log(`Service rules: ${f.services} services, ${f.endpoints} endpoints`);
  console.log(`  first table (render + nft -f)       ${ms(f.firstSyncMs)}`);
  console.log(`  full resync                         ${ms(f.fullResyncMs)} (render ${ms(f.renderMs)})`);
  console.log(`  EndpointSlice change -> rules in force  p50 ${ms(f.changeToRulesP50Ms)}, max ${ms(f.changeToRulesMaxMs)}`);
}
