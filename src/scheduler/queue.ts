// The scheduling queue: pods waiting to be placed, highest priority first (then oldest), and a
// parking lot for pods no node can take, which come back when the cluster changes or after a while.
import { Heap } from './heap.js';
import type { PodT } from './snapshot.js';

const UNSCHEDULABLE_RETRY_MS = 60_000;
const RETRY_AFTER_CHANGE_MS = 1000;

/** A pod waiting in the active queue; the heap may hold outdated entries, which pop skips. */
interface Entry {
  key: string;
  pod: PodT;
  /** Order of arrival, the last tie-breaker. */
  seq: number;
}

export class SchedulingQueue {
  private readonly active = new Map<string, Entry>();
  private readonly heap = new Heap<Entry>(before);
  private seq = 0;
  /** Parked pods, oldest first (each is re-inserted when parked again). */
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
    this.activate(key, pod);
    this.wake?.();
  }

  private activate(key: string, pod: PodT): void {
    const current = this.active.get(key);
    if (current && priority(current.pod) === priority(pod)) {
      current.pod = pod;
      return;
    }
    const entry = { key, pod, seq: this.seq++ };
    this.active.set(key, entry);
    this.heap.push(entry);
    // Outdated entries are dropped as they are popped; many removals could pile them up.
    if (this.heap.size > 2 * this.active.size + 1000) this.heap.retain((e) => this.active.get(e.key) === e);
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
    this.parked.delete(key);
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
    for (const [key, { pod }] of this.parked) this.activate(key, pod);
    this.parked.clear();
    if (this.active.size) this.wake?.();
  }

  /** The next pod to schedule, or undefined once closed. */
  async pop(): Promise<[string, PodT] | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      const now = Date.now();
      for (const [key, p] of this.parked) {
        if (now - p.since <= UNSCHEDULABLE_RETRY_MS) break;
        this.parked.delete(key);
        this.activate(key, p.pod);
      }
      for (let e = this.heap.pop(); e; e = this.heap.pop()) {
        if (this.active.get(e.key) !== e) continue;
        this.active.delete(e.key);
        this.inFlight.set(e.key, this.moves);
        return [e.key, e.pod];
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

const priority = (pod: PodT) => pod.spec?.priority ?? 0;

/** Highest priority first, then the oldest pod, then the first to arrive. */
function before(a: Entry, b: Entry): boolean {
  if (priority(a.pod) !== priority(b.pod)) return priority(a.pod) > priority(b.pod);
  const ca = a.pod.metadata?.creationTimestamp ?? '';
  const cb = b.pod.metadata?.creationTimestamp ?? '';
  return ca !== cb ? ca < cb : a.seq < b.seq;
}
