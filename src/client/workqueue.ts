// A work queue as controllers use it: a key is queued at most once however often it is added, is
// never handed to two workers at once (re-added while in flight, it is queued again when done), and
// failed keys come back after a per-key exponential backoff.
import { setMaxListeners } from 'node:events';
import { realClock, type Clock } from '../k8s/clock.js';

const BASE_DELAY_MS = 5;
const MAX_DELAY_MS = 300_000;

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  /** Aborted at shutdown: cancels every pending delay. */
  private readonly delays = new AbortController();
  private waiters: ((key: K | undefined) => void)[] = [];
  private stopped = false;

  /** `clock` times the delays (tests pass a manual one). */
  constructor(private readonly clock: Clock = realClock) {
    setMaxListeners(0, this.delays.signal);
  }

  get length(): number {
    return this.queue.length;
  }

  add(key: K): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else this.queue.push(key);
  }

  addAfter(key: K, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    void this.clock.sleep(ms, this.delays.signal).then(() => {
      if (!this.stopped) this.add(key);
    });
  }

  /** Re-adds a key that failed, after 5 ms doubling per consecutive failure up to 5 minutes. */
  addRateLimited(key: K): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.addAfter(key, Math.min(BASE_DELAY_MS * 2 ** n, MAX_DELAY_MS));
  }

  /** The key succeeded: its backoff starts over. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  requeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to work on, or undefined once the queue is shut down. */
  get(): Promise<K | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  shutdown(): void {
    this.stopped = true;
    this.delays.abort();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
