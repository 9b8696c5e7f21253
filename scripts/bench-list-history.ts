// Does a list depend on the datastore's history? 10,000 ConfigMaps in one namespace on a SQLite
// store, first with no history (the baseline, same run), then with BENCH_HISTORY (default 1,000,000)
// older revisions of them. The history is written straight into the kine table (one transaction),
// not through the API. Each case opens the store and an ObjectStore over it and times consistent
// lists (resourceVersion unset, as kubectl), a first page of 500, and gets, as the API server's
// handlers read them (listShared, getShared: the watch cache's objects, not copies). The lists carry
// a field selector that every object matches, so that each one walks the objects (without a
// selector, a list at an unchanged revision is answered with the previous one).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { builtinResources } from '../src/api/registry/builtin/index.js';
import { Registry } from '../src/api/registry/registry.js';
import { ObjectStore } from '../src/api/storage/object-store.js';
import { openSqliteStore } from '../src/store/index.js';

const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 10_000);
const HISTORY = Number(process.env.BENCH_HISTORY ?? 1_000_000);
const LISTS = 20;
const GETS = 2000;
const root = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'skiff-bench-history-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));

const configMaps = new Registry(builtinResources()).byResource('', 'v1', 'configmaps')!;
const value = (i: number, n: number) =>
  Buffer.from(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `cm-${i}`, namespace: 'bench', uid: `uid-${i}`, creationTimestamp: '2026-01-01T00:00:00Z' },
      data: { n: String(n), payload: 'x'.repeat(200) },
    }),
  );

/** A database with OBJECTS keys, each written once, then `history` more updates spread over them. */
async function build(file: string, history: number): Promise<void> {
  await (await openSqliteStore({ file })).close(); // the schema
  const db = new Database(file);
  const insert = db.prepare(
    'INSERT INTO kine (id, name, created, deleted, create_revision, prev_revision, lease, value) VALUES (?, ?, ?, 0, ?, ?, 0, ?)',
  );
  db.transaction(() => {
    const last = new Map<number, number>();
    for (let id = 1; id <= OBJECTS + history; id++) {
      const i = (id - 1) % OBJECTS;
      insert.run(id, `/registry/configmaps/bench/cm-${i}`, id <= OBJECTS ? 1 : 0, i + 1, last.get(i) ?? 0, value(i, id));
      last.set(i, id);
    }
  })();
  db.close();
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

async function timed(count: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < count; i++) {
    const s = performance.now();
    await op(i);
    lat.push(performance.now() - s);
  }
  return lat;
}

async function run(history: number): Promise<{ list: number; page: number; get: number }> {
  const file = path.join(root, `history-${history}.db`);
  const t0 = performance.now();
  await build(file, history);
  const store = await openSqliteStore({ file });
  const objects = new ObjectStore(store);
  const first = performance.now();
  const listed = await objects.listShared(configMaps, 'bench');
  if (listed.items.length !== OBJECTS) throw new Error(`listed ${listed.items.length} objects, want ${OBJECTS}`);
  const firstMs = performance.now() - first;
  const all = { fieldSelector: 'metadata.namespace=bench' };
  const list = await timed(LISTS, () => objects.listShared(configMaps, 'bench', all));
  const page = await timed(LISTS, () => objects.listShared(configMaps, 'bench', { ...all, limit: 500 }));
  const get = await timed(GETS, (i) => objects.getShared(configMaps, 'bench', `cm-${(i * 7919) % OBJECTS}`));
  await store.close();
  fs.rmSync(file, { force: true });
  const line = (name: string, lat: number[]) => `${name} p50 ${pct(lat, 50).toFixed(2).padStart(8)} ms`;
  console.log(
    `${String(history).padStart(9)} revisions of history (built in ${((performance.now() - t0) / 1000).toFixed(1)} s): ` +
      `first list ${firstMs.toFixed(1)} ms   ${line(`list ${OBJECTS}`, list)}   ${line('page of 500', page)}   ${line('get', get)}`,
  );
  return { list: pct(list, 50), page: pct(page, 50), get: pct(get, 50) };
}

console.log(`list ${OBJECTS} ConfigMaps from an ObjectStore on SQLite, without history (baseline) and with ${HISTORY} revisions of it`);
const base = await run(0);
const deep = await run(HISTORY);
console.log(
  `ratio with/without history: list ${(deep.list / base.list).toFixed(2)}   page ${(deep.page / base.page).toFixed(2)}   ` +
    `get ${(deep.get / base.get).toFixed(2)}`,
);
