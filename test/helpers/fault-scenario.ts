// The high-availability fault test, whatever the servers share (Postgres, etcd): registers written
// through every server while the one leading the controller manager is killed, another is paused and
// resumed, and the killed one is restarted on its data dir; then every server must read back the
// same values, and the history must be linearizable (so no acknowledged write was lost).
import { execFileSync } from 'node:child_process';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Test } from 'tap';
import { loadKubeconfig } from '../../src/client/kubeconfig.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { leases } from '../../src/client/resources.js';
import { httpsTransport } from '../../src/client/transport.js';
import type { Cluster } from './cluster.js';
import { eventually } from './eventually.js';
import { type FaultTarget, type ReadBack, RegisterWorkload } from './fault-client.js';
import { checkRegisters } from './linearizability.js';

export interface FaultScenarioOptions {
  /** How long a call may go unanswered before it counts as unknown (a paused server answers nothing). */
  callTimeoutMs?: number;
  workers?: number;
  keys?: number;
  /** Pause the paused server's child processes with it (its embedded etcd member). */
  pauseChildren?: boolean;
}

const NAMESPACE = 'registers';
const CONTROLLER_LEASE = 'kube-controller-manager';

/** Runs the scenario on three or more servers of one cluster, each reached with its own kubeconfig. */
export async function runFaultScenario(t: Test, servers: Cluster[], opts: FaultScenarioOptions = {}): Promise<void> {
  if (servers.length < 3) throw new Error('the fault scenario needs three servers: one killed, one paused, one left');
  await servers[0]!.k('create', 'namespace', NAMESPACE);
  const targets: FaultTarget[] = servers.map((s, i) => ({ name: `server-${i}`, transport: httpsTransport(loadKubeconfig(s.kubeconfig)) }));
  const workers = opts.workers ?? 4;
  const workload = new RegisterWorkload({
    targets,
    namespace: NAMESPACE,
    workers,
    keys: opts.keys ?? 5,
    callTimeoutMs: opts.callTimeoutMs ?? 3000,
  });
  // Teardowns run last-registered first: the workers stop before the servers do.
  t.teardown(() => workload.stop());
  workload.start();
  await eventually(() => workload.counts().ok >= 50, { what: 'the workload to get going', explain: () => recent(workload) });

  const before = await eventually(
    async () => {
      const holder = await leaseHolder(targets[0]!, servers);
      return holder && holder.server >= 0 ? holder : undefined;
    },
    { what: 'a controller manager to lead' },
  );
  const leader = before.server;
  const paused = (leader + 1) % servers.length;
  const survivor = (leader + 2) % servers.length;
  t.comment(`controller manager led by ${targets[leader]!.name}: killing it, pausing ${targets[paused]!.name}`);
  await servers[leader]!.stop('SIGKILL');
  const killedAt = performance.now();
  // With one server (and its etcd member) dead, the others keep serving: writes still commit.
  await eventually(() => workload.counts(targets[survivor]!.name, killedAt).ok >= 20, {
    what: `${targets[survivor]!.name} to keep serving after the kill`,
    explain: () => recent(workload),
  });
  t.pass(`${targets[survivor]!.name} and ${targets[paused]!.name} serve with ${targets[leader]!.name} dead`);

  const server = servers[paused]!.process.pid!;
  const stopped = [server, ...(opts.pauseChildren ? childrenOf(server) : [])];
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of stopped) process.kill(pid, sig);
  };
  // A stopped process would outlive a SIGTERM at teardown, and a test that fails mid-pause must not leave one.
  t.teardown(() => {
    try {
      signal('SIGCONT');
    } catch {
      // already gone
    }
  });
  t.comment(`pausing ${stopped.length} processes: ${stopped.join(', ')}`);
  signal('SIGSTOP');
  const pausedAt = performance.now();
  await eventually(() => workload.counts(targets[paused]!.name, pausedAt).unknown >= workers, {
    what: `calls to the paused ${targets[paused]!.name} to go unanswered`,
    explain: () => recent(workload),
  });
  signal('SIGCONT');

  const after = await eventually(
    async () => {
      const now = await leaseHolder(targets[survivor]!, servers);
      return now && now.identity !== before.identity && Date.parse(now.renewTime) > Date.parse(before.renewTime) ? now : undefined;
    },
    { what: 'another server to take over the controller manager', timeout: 90_000 },
  );
  const handover = ((performance.now() - killedAt) / 1000).toFixed(1);
  t.comment(`the lease passed on within ${handover} s of the kill (lease duration ${after.durationSeconds} s)`);
  t.not(after.server, leader, `the lease went from ${targets[leader]!.name} to ${targets[after.server]!.name}`);
  t.ok(after.server >= 0, 'its new holder is one of the running servers');

  await servers[leader]!.restart();
  const restartedAt = performance.now();
  await eventually(() => workload.counts(targets[leader]!.name, restartedAt).ok >= 10, {
    what: `the restarted ${targets[leader]!.name} to answer`,
    explain: () => recent(workload),
  });
  await workload.stop();

  // Every server must come to read the same value at the same resourceVersion (an unknown call still
  // taking effect could change a key between two reads: then they are read again).
  await eventually(
    async () => {
      const differ = disagreement(await workload.readBack());
      if (differ) throw new Error(differ);
      return true;
    },
    { what: 'every server to read back the same registers' },
  );
  t.pass('every server reads back the same registers');

  const started = performance.now();
  const result = checkRegisters(workload.history);
  const checkMs = performance.now() - started;
  t.ok(result.ok, result.ok ? 'the history is linearizable: no acknowledged write was lost' : result.message);
  t.comment(`${figures(workload)}; checked in ${checkMs.toFixed(0)} ms (${result.states} search states)`);
  for (const target of targets) t.comment(`  ${target.name}: ${JSON.stringify(workload.counts(target.name))}`);
}

/** The processes `pid` started (pgrep answers 1 when there are none). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)])
      .toString()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** What the workload did, for the test's log: outcomes, cas answers, and unknown calls seen to have taken effect. */
function figures(workload: RegisterWorkload): string {
  const { ok, failed, unknown } = workload.counts();
  const history = workload.history;
  const cas = history.flatMap((op) => (op.f === 'cas' && op.outcome === 'ok' ? [op] : []));
  const read = new Set(history.flatMap((op) => (op.f === 'read' && op.outcome === 'ok' && op.result ? [op.result] : [])));
  const landed = history.filter((op) => op.outcome === 'unknown' && op.f !== 'read' && read.has(op.value)).length;
  return (
    `${history.length} operations on ${workload.keys.length} keys: ${ok} ok, ${failed} failed, ${unknown} unknown ` +
    `(${landed} of them read later); cas ${cas.filter((op) => op.result).length} ok, ${cas.filter((op) => !op.result).length} fail`
  );
}

/** The holder of the controller manager's Lease as `target` answers, and which server that is: the one that logged its identity. */
async function leaseHolder(target: FaultTarget, servers: Cluster[]) {
  const api = new ApiClient(target.transport, 'fault-scenario').resource(leases);
  const lease: Lease = await api.get('kube-system', CONTROLLER_LEASE);
  const identity = lease.spec?.holderIdentity;
  if (!identity) return undefined;
  const server = servers.findIndex((s) => s.log().includes(identity));
  return { identity, renewTime: lease.spec?.renewTime ?? '', durationSeconds: lease.spec?.leaseDurationSeconds, server };
}

/** The first key the servers do not agree on (or could not read), said in words; undefined when all agree. */
function disagreement(back: ReadBack[]): string | undefined {
  for (const key of new Set(back.map((b) => b.key))) {
    const reads = back.filter((b) => b.key === key);
    const said = reads.map((b) => b.error ?? `${b.value} at ${b.resourceVersion}`);
    if (reads.some((b) => b.error) || new Set(said).size > 1) return `${key}: ${reads.map((b, i) => `${b.target} ${said[i]}`).join('; ')}`;
  }
  return undefined;
}

function recent(workload: RegisterWorkload): string {
  return workload.history
    .slice(-12)
    .map((op) => `${op.target} ${op.client} ${op.f} ${op.outcome}${op.error ? `: ${op.error}` : ''}`)
    .join('\n');
}
