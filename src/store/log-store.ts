// What the SQLite and Postgres stores do alike over their revision logs: reads (get, list, count)
// at a checked revision, opening watches (history, then live events), the compaction loop and its
// timer, and the periodic lease expiry. How writes are committed and how history is read differ
// per backend (group commit in one process, or a log followed by many servers) and stay there.
import { CompactedError, FutureRevisionError, StoreClosedError } from './errors.js';
import { decodeContinue, encodeContinue, type Row, toKeyValue } from './log-rows.js';
import type {
  DeleteResult,
  KeyValue,
  ListOptions,
  ListResult,
  ReadOptions,
  Store,
  WatchEvent,
  WatchOptions,
  Watcher,
  WriteOptions,
  WriteResult,
} from './types.js';
import { WatchHub } from './watch-hub.js';

type MaybePromise<T> = T | Promise<T>;

/** The reads both logs answer alike (SQLite synchronously, Postgres asynchronously). */
export interface StoreLog {
  latest(name: string, revision?: number): MaybePromise<Row | undefined>;
  /** Live keys under a prefix as of `revision`, in key order, starting after `after`; no limit when undefined. */
  list(prefix: string, revision: number, after: string, limit?: number): MaybePromise<Row[]>;
  count(prefix: string): MaybePromise<number>;
}

export interface LogStoreOptions {
  /** How often history older than one interval is compacted away (Kubernetes: 5 minutes). */
  compactIntervalMs?: number;
  /** Events a watcher may have queued before it is closed as too slow. */
  watcherBufferLimit?: number;
  /** How often expired leases are looked for. */
  leaseCheckIntervalMs?: number;
  /** The time leases expire by (tests move it); Date.now by default. */
  now?: () => number;
}

/** Revisions compacted per step, so that a large compaction does not hold the log for long. */
const COMPACT_STEP = 5000;

export abstract class LogStore<L extends StoreLog> implements Store {
  protected readonly hub: WatchHub;
  protected readonly now: () => number;
  protected closed = false;
  private readonly timers: NodeJS.Timeout[] = [];

  protected constructor(
    protected readonly log: L,
    protected rev: number,
    protected compacted: number,
    opts: LogStoreOptions,
  ) {
    this.hub = new WatchHub(opts.watcherBufferLimit ?? 10_000);
    this.now = opts.now ?? Date.now;
    let lastTick = rev;
    this.every(opts.compactIntervalMs ?? 5 * 60_000, () => {
      const target = lastTick;
      lastTick = this.rev;
      return this.compact(target).then(() => this.afterCompaction());
    });
    this.every(opts.leaseCheckIntervalMs ?? 1000, () => this.expireLeases());
  }

  abstract create(key: string, value: Buffer, opts?: WriteOptions): Promise<WriteResult>;
  abstract update(key: string, value: Buffer, expectedRevision?: number, opts?: WriteOptions): Promise<WriteResult>;
  abstract delete(key: string, expectedRevision?: number): Promise<DeleteResult>;
  abstract defragment(): Promise<void>;
  abstract grantLease(ttlSeconds: number): Promise<number>;
  abstract keepAliveLease(id: number): Promise<void>;
  abstract revokeLease(id: number): Promise<void>;
  /** The events under prefix with from <= revision <= to, for a new watch. */
  protected abstract history(prefix: string, from: number, to: number): MaybePromise<WatchEvent[]>;
  /** Compacts up to `to` (a step of compact()) and moves this.compacted. */
  protected abstract compactStep(to: number): Promise<void>;
  /** The leases expired by `now`, and how one of them is expired. */
  protected abstract expiredLeases(now: number): MaybePromise<number[]>;
  protected abstract expireLease(id: number, now: number): Promise<void>;
  /** Stops what the backend runs, once timers are stopped; the last step of close(). */
  protected abstract shutdown(): Promise<void>;

  /** Runs after each periodic compaction. */
  protected async afterCompaction(): Promise<void> {}

  /**
   * Before a read: a log that other servers write to is followed up to its newest commit (or to the
   * revision asked for), so that a read sees every write acknowledged anywhere before it began.
   */
  protected async catchUpForRead(_revision: number | undefined): Promise<void> {}

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      if (!this.closed) task().catch(() => undefined);
    }, ms);
    this.timers.push(timer);
  }

  currentRevision(): number {
    return this.rev;
  }

  compactRevision(): number {
    return this.compacted;
  }

  private readRevision(revision: number | undefined): number {
    this.assertOpen();
    if (!revision) return this.rev;
    if (revision <= this.compacted) throw new CompactedError(revision, this.compacted);
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    return revision;
  }

  async get(key: string, opts: ReadOptions = {}): Promise<KeyValue | undefined> {
    await this.catchUpForRead(opts.revision);
    const row = await this.log.latest(key, this.readRevision(opts.revision));
    return row && !row.deleted ? toKeyValue(row) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    let after = '';
    let revision = opts.revision;
    if (opts.continue) {
      const c = decodeContinue(opts.continue, prefix);
      after = c.after;
      revision = c.rev;
    }
    await this.catchUpForRead(revision);
    const at = this.readRevision(revision);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
    const rows = await this.log.list(prefix, at, after, limit ? limit + 1 : undefined);
    const more = limit !== undefined && rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map(toKeyValue);
    return { items, revision: at, continue: more ? encodeContinue(at, items[items.length - 1]!.key) : undefined };
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    return this.log.count(prefix);
  }

  watch(prefix: string, opts: WatchOptions = {}): Watcher {
    this.assertOpen();
    const from = opts.fromRevision ?? 0;
    if (from > 0 && from <= this.compacted) throw new CompactedError(from, this.compacted);
    // History up to the revision seen now is read from the log; everything after it is published live.
    const upTo = this.rev;
    const backlog = from > 0 && from <= upTo ? this.history(prefix, from, upTo) : [];
    return this.hub.add(prefix, from || upTo + 1, backlog);
  }

  async compact(revision?: number): Promise<number> {
    this.assertOpen();
    const target = Math.min(revision ?? this.rev, this.rev);
    while (this.compacted < target && !this.closed) await this.compactStep(Math.min(this.compacted + COMPACT_STEP, target));
    return this.compacted;
  }

  /** Every lease expired by one reading of the clock is expired; one failing does not stop the others. */
  private async expireLeases(): Promise<void> {
    const now = this.now();
    const expired = await this.expiredLeases(now);
    await Promise.allSettled(expired.map((id) => this.expireLease(id, now)));
  }

  protected assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.shutdown();
  }
}
