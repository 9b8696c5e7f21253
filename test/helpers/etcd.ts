// A throwaway etcd (Debian's `etcd-server`, /usr/bin/etcd) for tests: one member or a real cluster of
// three on 127.0.0.1, each on free ports, its data in a temp dir, stopped and removed at teardown.
// The data dir is on tmpfs when there is one: etcd 3.4 fsyncs every commit and has no flag to stop.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import type { Test } from 'tap';
import { freePort } from './cluster.js';
import { waitForLine } from './run.js';

export interface TestEtcdMember {
  name: string;
  /** Its client URL. */
  endpoint: string;
  /** Sends `signal` (SIGTERM by default) and waits until the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface TestEtcd {
  /** Every member's client URL, in member order. */
  endpoints: string[];
  members: TestEtcdMember[];
  /** The member that leads the cluster now (plain HTTP clusters). */
  leader(): Promise<TestEtcdMember>;
}

export interface TestEtcdOptions {
  /** 1 (default) or 3 members. */
  members?: 1 | 3;
  /** Serve clients over HTTPS with this certificate and require client certificates signed by `caFile`. */
  tls?: { caFile: string; certFile: string; keyFile: string };
}

const ETCD = '/usr/bin/etcd';

function dataRoot(): string {
  const shm = '/dev/shm';
  return fs.existsSync(shm) ? shm : os.tmpdir();
}

export async function startEtcd(t: Test, opts: TestEtcdOptions = {}): Promise<TestEtcd> {
  if (!fs.existsSync(ETCD)) throw new Error(`${ETCD} is not installed (apt-get install etcd-server)`);
  const dir = fs.mkdtempSync(path.join(dataRoot(), 'skiff-etcd-'));
  const scheme = opts.tls ? 'https' : 'http';
  const count = opts.members ?? 1;
  const ports = await Promise.all(Array.from({ length: count }, async () => ({ client: await freePort(), peer: await freePort() })));
  const names = ports.map((_, i) => `m${i}`);
  const peers = ports.map((p, i) => `${names[i]}=http://127.0.0.1:${p.peer}`).join(',');
  const tlsArgs = opts.tls
    ? ['--cert-file', opts.tls.certFile, '--key-file', opts.tls.keyFile, '--trusted-ca-file', opts.tls.caFile, '--client-cert-auth']
    : [];
  const processes: ChildProcess[] = ports.map((p, i) =>
    spawn(
      ETCD,
      [
        ...['--name', names[i]!, '--data-dir', path.join(dir, names[i]!)],
        ...['--listen-client-urls', `${scheme}://127.0.0.1:${p.client}`, '--advertise-client-urls', `${scheme}://127.0.0.1:${p.client}`],
        ...['--listen-peer-urls', `http://127.0.0.1:${p.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${p.peer}`],
        ...['--initial-cluster', peers, '--initial-cluster-state', 'new', '--initial-cluster-token', path.basename(dir)],
        // Short Raft timers: a new leader within a second of a member's death; leases as short as 1 s.
        ...['--heartbeat-interval', '50', '--election-timeout', '500'],
        ...['--logger', 'zap', '--log-outputs', 'stderr'],
        ...tlsArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const exited = processes.map((p) => new Promise<void>((resolve) => p.on('close', () => resolve())));
  const stopOne = async (i: number, signal: NodeJS.Signals = 'SIGTERM') => {
    const p = processes[i]!;
    if (p.exitCode === null && p.signalCode === null) p.kill(signal);
    await exited[i];
  };
  // Killed, not stopped: the data is thrown away, and a member whose peers are gone waits seconds to stop.
  const stopAll = async () => {
    await Promise.all(processes.map((_, i) => stopOne(i, 'SIGKILL')));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(stopAll);
  // A failed start rejects a top-level await, which ends the process before any teardown runs.
  await Promise.all(processes.map((p) => waitForLine(p, /serving client traffic/))).catch(async (err: unknown) => {
    await stopAll();
    throw err;
  });
  const members = ports.map((p, i) => ({
    name: names[i]!,
    endpoint: `${scheme}://127.0.0.1:${p.client}`,
    stop: (signal?: NodeJS.Signals) => stopOne(i, signal),
  }));
  const leader = async () => {
    if (opts.tls) throw new Error('leader() asks the members over plain HTTP');
    for (const member of members) {
      const client = new Etcd3({ hosts: member.endpoint });
      try {
        const status = await client.maintenance.status();
        if (status.leader === status.header.member_id) return member;
      } catch {
        // a member that is down leads nothing
      } finally {
        client.close();
      }
    }
    throw new Error('no etcd member leads');
  };
  return { endpoints: members.map((m) => m.endpoint), members, leader };
}
