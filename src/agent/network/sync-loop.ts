// What the node's rule loops (Service rules, NetworkPolicy) share: a change asks for a sync, the
// first of a burst waits a few milliseconds for the rest, changes during a sync make one more, no sync
// runs before start() (the owner starts it once its informers have listed), a failed sync is retried
// with backoff, and a periodic check may find that the kernel lost what was applied.
import { log } from '../../log.js';

export interface SyncLoopOptions<R> {
  /** For log lines: "services", "network policy". */
  what: string;
  /** How long the first change of a burst waits for the rest (ms). */
  debounceMs: number;
  onSync?(r: R): void;
}

export class SyncLoop<R> {
  private dirty = false;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checker: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private failures = 0;
  private last: R | undefined;

  constructor(
    private readonly sync: () => Promise<R>,
    private readonly opts: SyncLoopOptions<R>,
  ) {}

  /** Runs the first sync; then, every `checkEveryMs` (0: never) while idle, `check`. */
  async start(checkEveryMs: number, check?: () => Promise<void>): Promise<void> {
    this.started = true;
    this.dirty = true;
    await this.drain();
    if (checkEveryMs > 0 && check)
      this.checker = setInterval(() => {
        if (!this.running && !this.stopped) void check();
      }, checkEveryMs).unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.checker);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Something changed: sync soon, once for the whole burst (a running sync takes the change in). */
  request(): void {
    this.dirty = true;
    if (!this.started || this.stopped || this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, this.opts.debounceMs);
  }

  /** Syncs now and waits for it (tests and benchmarks); `prepare` runs once no sync is under way. */
  async now(prepare?: () => void): Promise<R> {
    while (this.running) await this.running;
    prepare?.();
    this.dirty = true;
    await this.drain();
    return this.last!;
  }

  /** Syncs until no change is left; one at a time. */
  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        try {
          const result = (this.last = await this.sync());
          this.failures = 0;
          this.opts.onSync?.(result);
        } catch (err) {
          this.failures++;
          this.dirty = true;
          log.error({ err: (err as Error).message }, `${this.opts.what}: applying the rules failed, retrying`);
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** this.failures, 30_000)));
        }
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
      // A change that came after the loop's last look at `dirty` but before this point found it running.
      if (this.dirty) this.request();
    }
  }
}
