// A child process kept running: started again with backoff whenever it exits on its own, until
// stopped. What the process is, where its output goes and what is logged is the caller's. Also the
// tools that keep a supervised program single after a crash of its supervisor: a command line that
// makes the child die with its parent (even a SIGKILLed one), and finding and stopping a leftover.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { type Clock, realClock, sleep } from './clock.js';

/**
 * `command args` run so that the kernel sends it `signal` when this process dies, however it dies
 * (setpriv --pdeathsig, util-linux): a supervised program never outlives its supervisor.
 */
export function diesWithParent(command: string, args: string[], signal: 'TERM' | 'KILL' = 'TERM'): [string, string[]] {
  return ['setpriv', ['--pdeathsig', signal, '--', command, ...args]];
}

/** Processes whose command line (argv) `match` accepts, as /proc shows them now. */
export function findProcesses(match: (argv: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const argv = cmdline.split('\0').filter((a, i, all) => a || i < all.length - 1);
    if (argv.length && match(argv)) pids.push(Number(entry));
  }
  return pids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').match(/^\d+ \(.*\) Z/); // a zombie is gone but for its parent's wait
  } catch {
    return false;
  }
};

/** Stops a process that is not our child: SIGTERM, SIGKILL after `graceMs`; resolves once it is gone. */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const killAt = Date.now() + graceMs;
  let killed = false;
  while (alive(pid)) {
    if (!killed && Date.now() >= killAt) {
      signal('SIGKILL');
      killed = true;
    }
    await sleep(50);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The wait before it is started again. */
  restartInMs: number;
}

export interface SupervisorOptions {
  /** Starts the process; called again after each exit. */
  spawn(): ChildProcess;
  /** Told of each exit that was not asked for by stop(). */
  onExit?(exit: Exit): void;
  /** Told when the process could not be started at all (no such program); it is not tried again. */
  onError?(err: Error): void;
  /** Times the backoff (tests pass a manual one). */
  clock?: Clock;
}

/** A run that lasted this long was healthy: its exit starts the backoff over. */
const HEALTHY_RUN_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;

export class Supervisor {
  private child?: ChildProcess;
  private readonly stopping = new AbortController();
  private readonly clock: Clock;

  constructor(private readonly opts: SupervisorOptions) {
    this.clock = opts.clock ?? realClock;
  }

  start(): void {
    this.run(0);
  }

  private run(failures: number): void {
    const child = this.opts.spawn();
    this.child = child;
    const startedAt = this.clock.now();
    child.on('error', (err) => this.opts.onError?.(err));
    child.on('exit', (code, signal) => {
      if (this.stopping.signal.aborted) return;
      // Quick deaths back off, doubling up to 30 s.
      const n = this.clock.now() - startedAt > HEALTHY_RUN_MS ? 0 : failures + 1;
      const restartInMs = Math.min(1000 * 2 ** n, MAX_BACKOFF_MS);
      this.opts.onExit?.({ code, signal, restartInMs });
      void this.clock.sleep(restartInMs, this.stopping.signal).then(() => {
        if (!this.stopping.signal.aborted) this.run(n);
      });
    });
  }

  /** Stops it for good: SIGTERM, and SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping.abort();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** The running process's id (tests kill it to see it come back). */
  get pid(): number | undefined {
    return this.child?.pid;
  }
}
