// A Clock that only moves when the test moves it. Why: leases, backoffs and schedules can then be
// tested in milliseconds, and "nothing happens while time passes" checked without sleeping.
import type { Clock } from '../../src/k8s/clock.js';
import { eventually } from './eventually.js';

interface Sleeper {
  until: number;
  wake: () => void;
}

export class ManualClock implements Clock {
  private readonly sleepers = new Set<Sleeper>();

  constructor(private time = Date.parse('2026-01-01T00:00:00Z')) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        until: this.time + Math.max(0, ms),
        wake: () => {
          this.sleepers.delete(sleeper);
          signal?.removeEventListener('abort', sleeper.wake);
          resolve();
        },
      };
      this.sleepers.add(sleeper);
      signal?.addEventListener('abort', sleeper.wake, { once: true });
    });
  }

  /** How many callers are asleep on this clock right now. */
  get sleeping(): number {
    return this.sleepers.size;
  }

  /** Moves time forward by ms and wakes every sleeper whose time has come. */
  advance(ms: number): void {
    this.set(this.time + ms);
  }

  /** Moves time forward to `ms` (never back) and wakes every sleeper whose time has come. */
  set(ms: number): void {
    if (ms < this.time) throw new Error(`a ManualClock does not go back (from ${this.time} to ${ms})`);
    this.time = ms;
    for (const s of [...this.sleepers].sort((a, b) => a.until - b.until)) if (s.until <= ms) s.wake();
  }

  /** Waits (in real time) until `n` callers are asleep on this clock: their work up to then is done. */
  async settled(n: number, timeout = 10_000): Promise<void> {
    await eventually(() => this.sleepers.size === n, {
      timeout,
      what: `${n} sleepers on the manual clock`,
      explain: () => `${this.sleepers.size} asleep at the end`,
    });
  }
}
