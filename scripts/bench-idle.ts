// What an idle node costs: a real one-node cluster (a `skiff server` and a joined `skiff agent`, each
// its own process from dist/, containerd run by the agent) left alone with no pods, for ten minutes
// by default. Prints for each process (server, agent, containerd, and their sum) CPU in % of one
// core, RSS, and bytes written to storage per second (/proc/<pid>/io write_bytes); what the SQLite
// database and its WAL grew; and which keys the server wrote to its log, per minute.
// Baseline, measured in the same window: a bare containerd with the agent's config and nobody
// calling it, and an idle `node` process (the floor of the three runtimes).
//   npm run bench:idle                         ten minutes
//   npm run bench:idle -- 60                   a shorter window, in seconds (or BENCH_IDLE_SECONDS=60)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ContainerdSupervisor } from '../src/agent/containerd.js';
import { sqliteFile } from '../src/server/db-paths.js';
import { cpuSeconds, rssMiB, sleep, startBenchNode } from './bench-node.js';

const WINDOW_S = Number(process.argv[2] ?? process.env.BENCH_IDLE_SECONDS ?? 600);
const SETTLE_MS = 10_000;
/** The log is copied this often: compaction drops rows older than its 5-minute interval. */
const COPY_EVERY_MS = 60_000;

/** Bytes a process has caused to be written to storage so far. */
const writeBytes = (pid: number) => Number(/^write_bytes: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
const fileSize = (file: string) => fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;

interface Sample {
  cpu: number;
  written: number;
}
const sample = (pid: number): Sample => ({ cpu: cpuSeconds(pid), written: writeBytes(pid) });

const node = await startBenchNode();
const scratch = fs.mkdtempSync('/tmp/skiff-idle-');
const bareContainerd = new ContainerdSupervisor(
  {
    root: path.join(scratch, 'root'),
    state: path.join(scratch, 'state'),
    socket: path.join(scratch, 'c.sock'),
    cniBinDir: '/usr/lib/cni',
    cniConfDir: path.join(scratch, 'cni'),
  },
  path.join(scratch, 'containerd.log'),
);
const idleNode = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });

/** The server's log rows (id → key), gathered from copies of its database taken while it runs. */
const written = new Map<number, { key: string; bytes: number }>();
const dbFile = sqliteFile(path.join(node.root, 'server'));
function readLog(since: number): void {
  const copy = path.join(scratch, 'copy.db');
  // The WAL first: a checkpoint between the two copies then leaves its rows in the database copy.
  fs.copyFileSync(`${dbFile}-wal`, `${copy}-wal`);
  fs.copyFileSync(dbFile, copy);
  const db = new Database(copy);
  for (const r of db.prepare('SELECT id, name, length(value) AS bytes FROM kine WHERE id > ?').all(since) as {
    id: number;
    name: string;
    bytes: number;
  }[])
    written.set(r.id, { key: r.name, bytes: r.bytes });
  db.close();
  fs.rmSync(copy);
  fs.rmSync(`${copy}-wal`, { force: true });
}
const revision = () => {
  const copy = path.join(scratch, 'rev.db');
  fs.copyFileSync(`${dbFile}-wal`, `${copy}-wal`);
  fs.copyFileSync(dbFile, copy);
  const db = new Database(copy);
  const rev = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'kine'").get() as { seq: number }).seq;
  db.close();
  fs.rmSync(copy);
  fs.rmSync(`${copy}-wal`, { force: true });
  return rev;
};

try {
  await bareContainerd.start();
  await sleep(SETTLE_MS);
  const pids: Record<string, number> = {
    server: node.server.pid!,
    agent: node.agent.pid!,
    containerd: node.containerdPid(),
    'bare containerd': bareContainerd.pid!,
    'idle node': idleNode.pid!,
  };
  const dbBytes = () => fileSize(dbFile) + fileSize(`${dbFile}-wal`);
  const startRev = revision();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, sample(pid)]));
  const dbBefore = dbBytes();
  const t0 = performance.now();
  console.log(
    `bench:idle — ${os.cpus().length} CPUs, node ${process.version}; an idle node for ${WINDOW_S} s after a ${SETTLE_MS / 1000} s settle`,
  );
  for (let left = WINDOW_S * 1000; left > 0; left -= COPY_EVERY_MS) {
    await sleep(Math.min(left, COPY_EVERY_MS));
    readLog(startRev);
  }
  const seconds = (performance.now() - t0) / 1000;
  const after = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, sample(pid)]));
  const dbAfter = dbBytes();

  interface Figures {
    cpu: number;
    rss: number;
    wps: number;
  }
  const of = (name: string): Figures => ({
    cpu: ((after[name]!.cpu - before[name]!.cpu) / seconds) * 100,
    rss: rssMiB(pids[name]!),
    wps: (after[name]!.written - before[name]!.written) / seconds,
  });
  const add = (...fs: Figures[]): Figures => fs.reduce((a, b) => ({ cpu: a.cpu + b.cpu, rss: a.rss + b.rss, wps: a.wps + b.wps }));
  const row = (name: string, f: Figures) =>
    console.log(
      name.padEnd(38) +
        `${f.cpu.toFixed(2)}%`.padStart(10) +
        `${f.rss.toFixed(1)} MiB`.padStart(14) +
        `${(f.wps / 1024).toFixed(2)} KB/s`.padStart(16),
    );
  console.log(`${''.padEnd(38)}${'CPU'.padStart(10)}${'RSS'.padStart(14)}${'written'.padStart(16)}`);
  const parts = ['server', 'agent', 'containerd'].map((name) => ({ name, f: of(name) }));
  for (const { name, f } of parts) row(name, f);
  const sum = add(...parts.map((p) => p.f));
  row('sum of the node', sum);
  console.log('-- baseline, same window');
  const bare = of('bare containerd');
  const idle = of('idle node');
  row('bare containerd', bare);
  row('idle node process', idle);
  // The node's three processes are two node runtimes and a containerd.
  const floor = add(bare, idle, idle);
  row('floor: bare containerd + 2 idle node', floor);
  console.log(`node / floor: CPU ${(sum.cpu / floor.cpu).toFixed(1)}x, RSS ${(sum.rss / floor.rss).toFixed(1)}x`);
  const revs = [...written.values()];
  console.log(
    `SQLite: database + WAL grew ${((dbAfter - dbBefore) / 1024 / seconds).toFixed(2)} KB/s; ` +
      `${revs.length} log rows (${((revs.length / seconds) * 60).toFixed(1)}/min, ` +
      `${(revs.reduce((s, r) => s + r.bytes, 0) / 1024 / seconds).toFixed(2)} KB/s of values)`,
  );
  const byKey = new Map<string, number>();
  for (const r of revs) byKey.set(r.key, (byKey.get(r.key) ?? 0) + 1);
  for (const [key, n] of [...byKey].sort((a, b) => b[1] - a[1]).slice(0, 15))
    console.log(`  ${((n / seconds) * 60).toFixed(1).padStart(6)}/min  ${key}`);
} finally {
  idleNode.kill();
  await bareContainerd.stop();
  await node.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
}
process.exit(0);
