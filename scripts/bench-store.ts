// Datastore benchmark: the same workload on every backend, one after the other, printed as one table
// (SQLite | etcd, one member | etcd, three members | Postgres | MySQL): acknowledged writes per second
// (creates with 16 and 1 in flight, compare-and-swap updates), get and list latency, and how long a
// watcher waits for the event of an acknowledged write, on the same server and on a second one. The
// SQLite column is the baseline the other throughputs are divided by; a plain better-sqlite3 insert
// loop, measured in the same run, tells how fast this machine is. The servers are the tests' own
// (test/helpers), started in temp dirs and removed at the end, also when the run fails or is stopped.
// BENCH_N sets the number of writes per throughput test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Test } from 'tap';
import { openEtcdStore, openPostgresStore, openSqliteStore, type Store } from '../src/store/index.js';
import { openMysqlStore } from '../src/store/mysql.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { startMysql } from '../test/helpers/mysql.js';
import { startPostgres } from '../test/helpers/postgres.js';

const N = Number(process.env.BENCH_N ?? 6000);
if (!Number.isSafeInteger(N) || N < 100) throw new Error(`BENCH_N must be a whole number of at least 100, not ${process.env.BENCH_N}`);
const GETS = 2000;
const LIST_KEYS = 1000;
const LISTS = 150;
const WATCHED_WRITES = 500;
const CONCURRENCY = 16;
/** How long a watcher may take to deliver one event before the run is called off. */
const EVENT_TIMEOUT_MS = 10_000;

// About 1 KiB, like a small ConfigMap.
const VALUE = Buffer.from(JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', data: { payload: 'x'.repeat(966) } }));
// No backend here syncs to a disk (the test servers run unsynced, etcd on tmpfs): SQLite's file goes
// to tmpfs too, so that the columns compare the stores and not the disk.
const DATA_ROOT = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

type Teardown = () => unknown;
const teardowns: Teardown[] = [];

let cleaning = Promise.resolve();

/** Runs what was registered so far, newest first, after any clean-up already under way. */
function cleanUp(): Promise<void> {
  cleaning = cleaning.then(async () => {
    for (const fn of teardowns.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`cleanup: ${(err as Error).message}`);
      }
    }
  });
  return cleaning;
}

// The test helpers only register their stop function on the tap Test they are given.
const scope = { teardown: (fn: Teardown) => void teardowns.push(fn) } as unknown as Test;

/** Measures a figure of one backend: writes/s, or latencies in ms. */
type Figure = { rate: number } | { latencies: number[] };

const ROWS = [
  `create, ${CONCURRENCY} in flight`,
  'create, 1 in flight',
  `CAS update, ${CONCURRENCY} in flight`,
  'get',
  `list ${LIST_KEYS} keys`,
  `list ${LIST_KEYS} keys, pages of 500`,
  'watch: ack to event, same server',
  'watch: ack to event, second server',
] as const;
type Row = (typeof ROWS)[number];

interface Backend {
  name: string;
  /** Starts the servers (registering their teardown) and returns how to open a store on them. */
  start(): Promise<{ open(): Promise<Store>; openSecond?(): Promise<Store> }>;
}

/** Runs `count` operations with `concurrency` in flight; returns the operations per second. */
async function throughput(count: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Figure> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await op(next++);
    }),
  );
  return { rate: count / ((performance.now() - start) / 1000) };
}

/** Runs `count` operations one at a time, timing each. */
async function latency(count: number, op: (i: number) => Promise<unknown>): Promise<Figure> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await op(i);
    latencies.push(performance.now() - t0);
  }
  return { latencies };
}

/**
 * Writes through `writer` one at a time and times, for each, the wait from the write's acknowledgement
 * to its event at a watcher of `reader` (0 when the event was there first).
 */
async function watchDelivery(writer: Store, reader: Store, prefix: string): Promise<Figure> {
  // From the next revision the reader knows of: no write below can be missed while the watch starts.
  const watcher = reader.watch(prefix, { fromRevision: reader.currentRevision() + 1 });
  const arrived = new Map<number, number>();
  let wake = () => {};
  const reading = (async () => {
    for await (const batch of watcher) {
      const now = performance.now();
      for (const e of batch) arrived.set(e.kv.modRevision, now);
      wake();
    }
  })();
  const eventOf = async (revision: number) => {
    const deadline = performance.now() + EVENT_TIMEOUT_MS;
    while (!arrived.has(revision)) {
      if (performance.now() > deadline) throw new Error(`no watch event for revision ${revision} in ${EVENT_TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return arrived.get(revision)!;
  };
  const latencies: number[] = [];
  try {
    // The first write is not counted: it waits for the watch to be in place.
    await eventOf((await writer.create(`${prefix}first`, VALUE)).revision);
    for (let i = 0; i < WATCHED_WRITES; i++) {
      const { revision } = await writer.create(`${prefix}name-${i}`, VALUE);
      const acknowledged = performance.now();
      latencies.push(Math.max(0, (await eventOf(revision)) - acknowledged));
    }
  } finally {
    watcher.close();
    await reading;
  }
  return { latencies };
}

async function measure(backend: Backend, progress: (row: Row, figure: Figure) => void): Promise<void> {
  const servers = await backend.start();
  const store = await servers.open();
  teardowns.push(() => store.close());
  const ns = '/registry/configmaps';
  // Connections opened and code compiled before anything is timed.
  await throughput(200, CONCURRENCY, (i) => store.create(`${ns}/warmup/name-${i}`, VALUE).then(() => store.get(`${ns}/warmup/name-${i}`)));

  const created: number[] = [];
  progress(
    `create, ${CONCURRENCY} in flight`,
    await throughput(N, CONCURRENCY, async (i) => {
      created[i] = (await store.create(`${ns}/parallel/name-${i}`, VALUE)).revision;
    }),
  );
  progress('create, 1 in flight', await throughput(N, 1, (i) => store.create(`${ns}/serial/name-${i}`, VALUE)));
  progress(
    `CAS update, ${CONCURRENCY} in flight`,
    await throughput(N, CONCURRENCY, (i) => store.update(`${ns}/parallel/name-${i}`, VALUE, created[i])),
  );
  progress('get', await latency(GETS, () => store.get(`${ns}/parallel/name-${Math.floor(Math.random() * N)}`)));

  await throughput(LIST_KEYS, CONCURRENCY, (i) => store.create(`${ns}/listed/name-${i}`, VALUE));
  const whole = await store.list(`${ns}/listed/`);
  if (whole.items.length !== LIST_KEYS) throw new Error(`listed ${whole.items.length} keys, not ${LIST_KEYS}`);
  progress(`list ${LIST_KEYS} keys`, await latency(LISTS, () => store.list(`${ns}/listed/`)));
  progress(
    `list ${LIST_KEYS} keys, pages of 500`,
    await latency(LISTS, async () => {
      let page = await store.list(`${ns}/listed/`, { limit: 500 });
      while (page.continue) page = await store.list(`${ns}/listed/`, { limit: 500, continue: page.continue });
    }),
  );

  progress('watch: ack to event, same server', await watchDelivery(store, store, `${ns}/watched/`));
  if (servers.openSecond) {
    const second = await servers.openSecond();
    teardowns.push(() => second.close());
    progress('watch: ack to event, second server', await watchDelivery(store, second, `${ns}/watched-elsewhere/`));
  }
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    async start() {
      const dir = fs.mkdtempSync(path.join(DATA_ROOT, 'skiff-bench-'));
      teardowns.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      return { open: () => openSqliteStore({ file: path.join(dir, 'state.db') }) };
    },
  },
  {
    name: 'etcd 1',
    async start() {
      const { endpoints } = await startEtcd(scope);
      return { open: () => openEtcdStore({ endpoints }), openSecond: () => openEtcdStore({ endpoints }) };
    },
  },
  {
    name: 'etcd 3',
    async start() {
      // As embedded etcd: each server talks to its own member. The writer's is a follower (as for two
      // servers in three), the second server's the other follower.
      const etcd = await startEtcd(scope, { members: 3 });
      const leader = await etcd.leader();
      const [mine, other] = etcd.members.filter((m) => m !== leader);
      return {
        open: () => openEtcdStore({ endpoints: [mine!.endpoint] }),
        openSecond: () => openEtcdStore({ endpoints: [other!.endpoint] }),
      };
    },
  },
  {
    name: 'Postgres',
    async start() {
      const endpoint = await (await startPostgres(scope)).newDatabase();
      return { open: () => openPostgresStore({ endpoint }), openSecond: () => openPostgresStore({ endpoint }) };
    },
  },
  {
    name: 'MySQL',
    async start() {
      const endpoint = await (await startMysql(scope)).newDatabase();
      return { open: () => openMysqlStore({ endpoint }), openSecond: () => openMysqlStore({ endpoint }) };
    },
  },
];

/** better-sqlite3 inserting rows one by one with SQLite's store settings: how fast is this machine. */
function machineBaseline(): number {
  const dir = fs.mkdtempSync(path.join(DATA_ROOT, 'skiff-bench-'));
  teardowns.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = new Database(path.join(dir, 'baseline.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, value BLOB)');
  const insert = db.prepare('INSERT INTO t (name, value) VALUES (?, ?)');
  const start = performance.now();
  for (let i = 0; i < N; i++) insert.run(`/registry/configmaps/baseline/name-${i}`, VALUE);
  const rate = N / ((performance.now() - start) / 1000);
  db.close();
  return rate;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (n: number) => n.toFixed(n < 1 ? 3 : n < 10 ? 2 : 1);

function cell(figure: Figure | undefined, baseline: Figure | undefined): string {
  if (!figure) return '-';
  if ('rate' in figure) {
    const ratio = baseline && 'rate' in baseline ? ` (${(figure.rate / baseline.rate).toPrecision(2)}x)` : '';
    return `${figure.rate.toFixed(0)}/s${ratio}`;
  }
  const sorted = [...figure.latencies].sort((a, b) => a - b);
  return `${ms(pct(sorted, 50))} / ${ms(pct(sorted, 99))}`;
}

function printTable(results: Map<string, Map<Row, Figure>>): void {
  const baseline = results.get('SQLite');
  const columns = backends.map((b) => b.name);
  const lines = [['', ...columns], ...ROWS.map((row) => [row, ...columns.map((c) => cell(results.get(c)?.get(row), baseline?.get(row)))])];
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) console.log(l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   '));
}

// Ctrl-C stops the servers at once (the backend being measured then fails) and no other is started.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    void cleanUp();
  });
}

const cpus = os.cpus();
console.log(
  `skiff store benchmark: ${cpus.length} cores (${cpus[0]?.model.trim()}), node ${process.version}, load ${os.loadavg()[0]!.toFixed(2)}; ` +
    `N = ${N} writes per throughput test, values ${VALUE.length} bytes, ${GETS} gets, ${LISTS} lists, ${WATCHED_WRITES} watched writes`,
);
console.log(
  'No backend syncs to a disk: SQLite and etcd on tmpfs, Postgres with fsync=off, MariaDB with innodb-flush-log-at-trx-commit=0.',
);
const results = new Map<string, Map<Row, Figure>>();
const failures: string[] = [];
try {
  console.log(`machine baseline: better-sqlite3 insert loop (WAL, synchronous=FULL) ${machineBaseline().toFixed(0)} inserts/s`);
  await cleanUp();
  for (const backend of backends) {
    if (interrupted) break;
    const figures = new Map<Row, Figure>();
    results.set(backend.name, figures);
    const start = performance.now();
    try {
      await measure(backend, (row, figure) => figures.set(row, figure));
      console.log(`${backend.name}: measured in ${((performance.now() - start) / 1000).toFixed(0)} s`);
    } catch (err) {
      failures.push(`${backend.name}: ${(err as Error).message}`);
      console.log(`${backend.name}: failed after ${((performance.now() - start) / 1000).toFixed(0)} s`);
    } finally {
      await cleanUp();
    }
  }
} finally {
  await cleanUp();
}
console.log('\nwrites: acknowledged writes/s (ratio to SQLite); latencies: p50 / p99 in ms');
printTable(results);
for (const f of failures) console.log(`failed: ${f}`);
if (interrupted) console.log('interrupted');
process.exitCode = interrupted ? 130 : failures.length > 0 ? 1 : 0;
