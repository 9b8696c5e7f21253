// The scheduling queue: pods waiting to be placed, highest priority first (then oldest), and a
// parking lot for pods no node can take, which come back when the cluster changes or after a while.
import type { PodT } from './snapshot.js';

const UNSCHEDULABLE_RETRY_MS = 60_000;
const RETRY_AFTER_CHANGE_MS = 1000;

export class SchedulingQueue {
  private readonly active = new Map<string, PodT>();
  private readonly parked = new Map<string, { pod: PodT; since: number }>();
  /** Bumped by every cluster change; a pod remembers the value it was popped at. */
  private moves = 0;
  private readonly inFlight = new Map<string, number>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private wake?: () => void;
  private closed = false;

  /** A pending pod, new or changed. */
  add(key: string, pod: PodT): void {
    this.parked.delete(key);
    this.active.set(key, pod);
    this.wake?.();
  }

  /** Keeps a parked pod parked (its latest copy), unless it is not parked. */
  refresh(key: string, pod: PodT): void {
    const p = this.parked.get(key);
    if (p) p.pod = pod;
    else this.add(key, pod);
  }

  park(key: string, pod: PodT): void {
    this.active.delete(key);
    const poppedAt = this.inFlight.get(key);
    this.inFlight.delete(key);
    // The cluster changed while this pod was being tried: that change may be what it needed, so
    // it is tried again shortly instead of waiting for the next change.
    if (poppedAt !== undefined && poppedAt !== this.moves) {
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        if (!this.closed) this.add(key, pod);
      }, RETRY_AFTER_CHANGE_MS);
      this.retries.add(timer);
      return;
    }
    this.parked.set(key, { pod, since: Date.now() });
  }

  remove(key: string): void {
    this.inFlight.delete(key);
    this.active.delete(key);
    this.parked.delete(key);
  }

  isParked(key: string): boolean {
    return this.parked.has(key);
  }

  /** Something changed that may make parked pods schedulable: try them all again. */
  moveAllToActive(): void {
    this.moves++;
    for (const [key, { pod }] of this.parked) this.active.set(key, pod);
    this.parked.clear();
    if (this.active.size) this.wake?.();
  }

  /** The next pod to schedule, or undefined once closed. */
  async pop(): Promise<[string, PodT] | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const now = Date.now();
      for (const [key, p] of this.parked) if (now - p.since > UNSCHEDULABLE_RETRY_MS) this.add(key, p.pod);
      let best: [string, PodT] | undefined;
      for (const entry of this.active) if (!best || before(entry[1], best[1])) best = entry;
      if (best) {
        this.active.delete(best[0]);
        this.inFlight.set(best[0], this.moves);
        return best;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, UNSCHEDULABLE_RETRY_MS);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.retries) clearTimeout(timer);
    this.wake?.();
  }
}

function before(a: PodT, b: PodT): boolean {
  const pa = a.spec?.priority ?? 0;
  const pb = b.spec?.priority ?? 0;
  if (pa !== pb) return pa > pb;
  return (a.metadata?.creationTimestamp ?? '') < (b.metadata?.creationTimestamp ?? '');
}
