// A child process kept running: started again with backoff whenever it exits on its own, until
// stopped. What the process is, where its output goes and what is logged is the caller's.
import type { ChildProcess } from 'node:child_process';
import { type Clock, realClock } from './clock.js';

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
