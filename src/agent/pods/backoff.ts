// Per-container restart backoff, as the kubelet's: the first restart is immediate, then waits double
// from 10 s up to 5 min; a container that stayed up for twice the maximum starts over.
import { realClock, type Clock } from '../../k8s/clock.js';

export class Backoff {
  private readonly entries = new Map<string, { delayMs: number; at: number }>();

  constructor(
    private readonly initialMs = 10_000,
    private readonly maxMs = 300_000,
    /** The time source when no `now` is given (tests pass a manual one). */
    private readonly clock: Clock = realClock,
  ) {}

  /** Records a restart now: the next one must wait longer. */
  next(key: string, now = this.clock.now()): void {
    const e = this.entries.get(key);
    const stale = !e || now - e.at > 2 * this.maxMs;
    this.entries.set(key, { delayMs: stale ? this.initialMs : Math.min(e.delayMs * 2, this.maxMs), at: now });
  }

  /** How long until a container that stopped at `since` may restart (0: now). */
  remainingMs(key: string, since: number, now = this.clock.now()): number {
    const e = this.entries.get(key);
    if (!e || now - e.at > 2 * this.maxMs) return 0;
    return Math.max(0, since + e.delayMs - now);
  }

  /** How long until the next try after the last recorded failure (image pulls: no container to date it). */
  remainingSinceLast(key: string, now = this.clock.now()): number {
    const e = this.entries.get(key);
    return e ? Math.max(0, e.at + e.delayMs - now) : 0;
  }

  /** The current delay, for "back-off 20s restarting failed container". */
  delayMs(key: string): number {
    return this.entries.get(key)?.delayMs ?? this.initialMs;
  }

  forget(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
