// Datastore growth under churn: a simulated stretch of a cluster's life (default one week), compressed
// in time: every simulated 10 s each of 100 nodes renews its Lease, and 1000 pods each update their
// status every 10 minutes; every simulated 5 minutes the store compacts what is older than the last
// tick, as the server does, then (the variant under test) checkpoints and truncates the WAL and hands
// freed pages back. Prints the database + WAL size at the end next to the size of the live data alone
// and, from the same run, the sizes without the reclaim step and without compaction at all.
// CHURN_DAYS=1 for a quicker run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { KineStore } from '../src/store/kine.js';

const DAYS = Number(process.env.CHURN_DAYS ?? 7);
const NODES = 100;
const PODS = 1000;
const STEP_S = 10;
const COMPACT_S = 300;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-churn-'));

const lease = (n: number, t: number) =>
  Buffer.from(
    JSON.stringify({
      kind: 'Lease',
      apiVersion: 'coordination.k8s.io/v1',
      metadata: { name: `node-${n}`, namespace: 'kube-node-lease', uid: `u-${n}`, resourceVersion: '0' },
      spec: { holderIdentity: `node-${n}`, leaseDurationSeconds: 40, renewTime: new Date(t * 1000).toISOString() },
    }),
  );
const pod = (p: number, t: number) =>
  Buffer.from(
    JSON.stringify({
      kind: 'Pod',
      metadata: { name: `pod-${p}`, namespace: 'default', uid: `p-${p}`, labels: { app: `app-${p % 50}` } },
      spec: { nodeName: `node-${p % NODES}`, containers: [{ name: 'app', image: 'registry.local/app:1.0', resources: {} }] },
      status: {
        phase: 'Running',
        conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
          type,
          status: 'True',
          lastTransitionTime: new Date(t * 1000).toISOString(),
        })),
        containerStatuses: [
          { name: 'app', ready: true, restartCount: t % 7, state: { running: { startedAt: new Date(t * 1000).toISOString() } } },
        ],
        padding: 'x'.repeat(600),
      },
    }),
  );

const size = (f: string) => fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1).padStart(8)} MB`;

type Mode = 'compaction + WAL truncate + reclaim' | 'compaction only' | 'no compaction';

async function churn(mode: Mode): Promise<{ db: number; wal: number; live: number; seconds: number; writes: number }> {
  const file = path.join(dir, `${mode.replace(/\W+/g, '-')}.db`);
  const store = new KineStore({ file, compactIntervalMs: 2 ** 31 - 1, leaseCheckIntervalMs: 2 ** 31 - 1 });
  const start = performance.now();
  let writes = 0;
  await Promise.all([
    ...Array.from({ length: NODES }, (_, n) => store.create(`/registry/leases/kube-node-lease/node-${n}`, lease(n, 0))),
    ...Array.from({ length: PODS }, (_, p) => store.create(`/registry/pods/default/pod-${p}`, pod(p, 0))),
  ]);
  let lastTick = store.currentRevision();
  const steps = (DAYS * 86_400) / STEP_S;
  const podsPerStep = Math.round((PODS * STEP_S) / 600);
  for (let s = 1; s <= steps; s++) {
    const t = s * STEP_S;
    const ops: Promise<unknown>[] = [];
    for (let n = 0; n < NODES; n++) ops.push(store.update(`/registry/leases/kube-node-lease/node-${n}`, lease(n, t)));
    for (let i = 0; i < podsPerStep; i++) {
      const p = (s * podsPerStep + i) % PODS;
      ops.push(store.update(`/registry/pods/default/pod-${p}`, pod(p, t)));
    }
    await Promise.all(ops);
    writes += ops.length;
    if (t % COMPACT_S === 0 && mode !== 'no compaction') {
      const target = lastTick;
      lastTick = store.currentRevision();
      await store.compact(target);
      if (mode === 'compaction + WAL truncate + reclaim') await store.reclaim();
    }
  }
  const seconds = (performance.now() - start) / 1000;
  // Measured while the store is open: closing the last connection checkpoints and deletes the WAL.
  const [dbSize, walSize] = [size(file), size(`${file}-wal`)];
  await store.close();
  // The live data alone: the same keys copied into a fresh database (VACUUM INTO keeps only used pages).
  const db = new Database(file, { readonly: true });
  const liveFile = `${file}.live`;
  const liveRows = db.prepare(`SELECT k.* FROM kine k JOIN (SELECT MAX(id) AS id FROM kine GROUP BY name) m ON k.id = m.id`).all();
  db.close();
  const live = new Database(liveFile);
  live.exec('CREATE TABLE kine (id INTEGER PRIMARY KEY, name TEXT, value BLOB); CREATE INDEX kine_name_id ON kine (name, id)');
  const ins = live.prepare('INSERT INTO kine (id, name, value) VALUES (?, ?, ?)');
  live.transaction(() => {
    for (const r of liveRows as { id: number; name: string; value: Buffer }[]) ins.run(r.id, r.name, r.value);
  })();
  live.close();
  return { db: dbSize, wal: walSize, live: size(liveFile), seconds, writes };
}

console.log(
  `skiff churn benchmark: ${DAYS} simulated day(s), ${NODES} node Leases every ${STEP_S} s, ${PODS} pods' status every 10 min, ` +
    `compaction every ${COMPACT_S / 60} min; data in ${dir}`,
);
for (const mode of ['compaction + WAL truncate + reclaim', 'compaction only', 'no compaction'] as Mode[]) {
  const r = await churn(mode);
  console.log(
    `${mode.padEnd(38)} db ${mb(r.db)}   wal ${mb(r.wal)}   live data ${mb(r.live)}   ` +
      `(${r.writes} writes in ${r.seconds.toFixed(0)} s)`,
  );
}
fs.rmSync(dir, { recursive: true, force: true });
