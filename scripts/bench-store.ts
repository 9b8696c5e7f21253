// Datastore benchmark: ops/s and latency percentiles for each operation, and a plain better-sqlite3
// insert loop with the same durability settings in the same run as the baseline.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, type Store } from '../src/store/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-'));
const value = Buffer.from(JSON.stringify({ kind: 'ConfigMap', data: { payload: 'x'.repeat(400) } }));

interface Result {
  name: string;
  ops: number;
  seconds: number;
  latencies: number[];
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function report(r: Result): number {
  const sorted = [...r.latencies].sort((a, b) => a - b);
  const rate = r.ops / r.seconds;
  console.log(
    `${r.name.padEnd(34)} ${rate.toFixed(0).padStart(8)} ops/s   ` +
      `p50 ${pct(sorted, 50).toFixed(3).padStart(8)} ms   p99 ${pct(sorted, 99).toFixed(3).padStart(8)} ms`,
  );
  return rate;
}

/** Runs `count` operations with `concurrency` in flight, timing each one. */
async function run(name: string, count: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await op(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { name, ops: count, seconds: (performance.now() - start) / 1000, latencies };
}

function baselineInserts(count: number): Result {
  const db = new Database(path.join(dir, 'baseline.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, value BLOB)');
  const insert = db.prepare('INSERT INTO t (name, value) VALUES (?, ?)');
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    insert.run(`/registry/configmaps/default/cm-${i}`, value);
    latencies.push(performance.now() - t0);
  }
  const seconds = (performance.now() - start) / 1000;
  db.close();
  return { name: 'baseline: better-sqlite3 insert loop', ops: count, seconds, latencies };
}

async function fill(store: Store, prefix: string, n: number): Promise<void> {
  await run('fill', n, 64, (i) => store.create(`${prefix}${String(i).padStart(6, '0')}`, value));
}

async function watchFanOut(store: Store, watchers: number, events: number): Promise<Result> {
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const ws = Array.from({ length: watchers }, () => store.watch('/registry/fanout/'));
  const readers = ws.map(async (w) => {
    let seen = 0;
    for await (const batch of w) {
      const now = performance.now();
      for (const e of batch) latencies.push(now - sentAt.get(e.kv.modRevision)!);
      seen += batch.length;
      if (seen >= events) break;
    }
  });
  const start = performance.now();
  await run('fanout writes', events, 1, async (i) => {
    const t0 = performance.now();
    const { revision } = await store.create(`/registry/fanout/${i}`, value);
    sentAt.set(revision, t0);
  });
  await Promise.all(readers);
  const seconds = (performance.now() - start) / 1000;
  return { name: `watch fan-out to ${watchers} watchers (deliveries)`, ops: watchers * events, seconds, latencies };
}

const N = Number(process.env.BENCH_N ?? 2000);
console.log(`skiff store benchmark: ${N} writes per test, value ${value.length} bytes, data in ${dir}`);
const baseline = report(baselineInserts(N));

const store = await openSqliteStore({ file: path.join(dir, 'store.db') });
report(await run('create (1 in flight)', N, 1, (i) => store.create(`/registry/seq/${i}`, value)));
const createRate = report(await run('create (64 in flight)', N, 64, (i) => store.create(`/registry/conc/${i}`, value)));
report(await run('update (1 in flight)', N, 1, (i) => store.update(`/registry/seq/${i}`, value)));
report(await run('update (64 in flight)', N, 64, (i) => store.update(`/registry/conc/${i}`, value)));
report(await run('get', N * 5, 1, (i) => store.get(`/registry/seq/${i % N}`)));

await fill(store, '/registry/list1k/', 1000);
await fill(store, '/registry/list10k/', 10_000);
report(await run('list 1k keys', 200, 1, () => store.list('/registry/list1k/')));
report(await run('list 10k keys', 20, 1, () => store.list('/registry/list10k/')));
report(
  await run('list 10k keys, pages of 500', 20, 1, async () => {
    let page = await store.list('/registry/list10k/', { limit: 500 });
    while (page.continue) page = await store.list('/registry/list10k/', { limit: 500, continue: page.continue });
  }),
);
report(await watchFanOut(store, 100, 500));
await store.close();

console.log(`ratio: store durable create throughput (64 in flight) / baseline insert loop = ${(createRate / baseline).toFixed(2)}`);
fs.rmSync(dir, { recursive: true, force: true });
