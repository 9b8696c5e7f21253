// The kine-style store on the SQLite revision log, in one process: what it shares with the Postgres
// store (reads, watches, compaction, lease expiry) is in log-store.ts; here are its writes, history
// replay and in-memory leases. Writes queued in the same tick share one transaction,
// so one fsync acknowledges many writes (group commit), and each precondition is checked inside it.
import { setImmediate as nextTick } from 'node:timers/promises';
import { StoreClosedError, StoreError } from './errors.js';
import { LeaseTable } from './leases.js';
import { assertAbsent, createRow, liveValue, type Row, toEvent, toKeyValue, tombstoneRow, updateRow } from './log-rows.js';
import { LogStore, type LogStoreOptions } from './log-store.js';
import { SqliteLog } from './sqlite-log.js';
import type { DeleteResult, KeyValue, WatchEvent, WriteOptions, WriteResult } from './types.js';

export interface KineOptions extends LogStoreOptions {
  file: string;
  /**
   * Commits are not fsynced one by one until syncEachCommit(): for what a server writes before its
   * API answers anyone (a first start's RBAC roles, namespaces, ...), which nobody was told of and
   * which it writes again if a crash loses them; the database stays consistent either way (WAL).
   */
  deferSync?: boolean;
}

interface Pending {
  run: () => { result: unknown; events: WatchEvent[] };
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

const REPLAY_PAGE = 1000;

export class KineStore extends LogStore<SqliteLog> {
  private readonly leases: LeaseTable;
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** Snapshots being copied: close() lets them finish first. */
  private readonly copies = new Set<Promise<void>>();

  constructor(opts: KineOptions) {
    const log = new SqliteLog(opts.file, { deferSync: opts.deferSync });
    super(log, log.currentRevision(), log.meta('compact_rev'), opts);
    this.leases = new LeaseTable(log.leases(), opts.now);
  }

  /** Every write acknowledged from now on is durable; the ones before are synced now. */
  async syncEachCommit(): Promise<void> {
    await this.flushing;
    this.log.syncEachCommit();
  }

  create(key: string, value: Buffer, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write(() => {
      const latest = this.log.latest(key);
      assertAbsent(key, latest);
      const { id, kv } = this.append(createRow(key, value, this.leaseFor(opts), latest));
      return { result: { revision: id }, events: [{ type: 'put', kv }] };
    });
  }

  update(key: string, value: Buffer, expectedRevision?: number, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write(() => {
      const prev = liveValue(key, this.log.latest(key), expectedRevision);
      const { id, kv } = this.append(updateRow(prev, value, this.leaseFor(opts)));
      return { result: { revision: id }, events: [{ type: 'put', kv, prev }] };
    });
  }

  delete(key: string, expectedRevision?: number): Promise<DeleteResult> {
    return this.write(() => this.tombstone(liveValue(key, this.log.latest(key), expectedRevision)));
  }

  private tombstone(prev: KeyValue): { result: DeleteResult; events: WatchEvent[] } {
    const { id, kv } = this.append(tombstoneRow(prev));
    return { result: { revision: id, prev }, events: [{ type: 'delete', kv, prev }] };
  }

  private leaseFor(opts: WriteOptions): number {
    if (opts.lease) this.leases.require(opts.lease);
    return opts.lease ?? 0;
  }

  /** Appends row; its revision and the key/value it wrote. */
  private append(row: Omit<Row, 'id'>): { id: number; kv: KeyValue } {
    const id = this.log.append(row);
    this.rev = id;
    return { id, kv: toKeyValue({ id, ...row }) };
  }

  private write<T>(run: () => { result: T; events: WatchEvent[] }): Promise<T> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, resolve: resolve as (v: unknown) => void, reject });
      this.flushing ??= nextTick().then(() => this.flush());
    });
  }

  /** Commits every queued write in one transaction, then acknowledges them and tells watchers. */
  private flush(): void {
    this.flushing = undefined;
    const batch = this.pending;
    this.pending = [];
    const outcomes: { ok: boolean; value: unknown }[] = [];
    const events: WatchEvent[] = [];
    const revBefore = this.rev;
    try {
      this.log.transaction(() => {
        for (const op of batch) {
          try {
            const { result, events: evs } = op.run();
            outcomes.push({ ok: true, value: result });
            events.push(...evs);
          } catch (err) {
            if (!(err instanceof StoreError)) throw err;
            outcomes.push({ ok: false, value: err });
          }
        }
      });
    } catch (err) {
      this.rev = revBefore;
      for (const op of batch) op.reject(err);
      return;
    }
    this.hub.publish(events);
    batch.forEach((op, i) => {
      if (outcomes[i]!.ok) op.resolve(outcomes[i]!.value);
      else op.reject(outcomes[i]!.value);
    });
  }

  /** Read in one synchronous step with registering the watch, so no commit falls between. */
  protected history(prefix: string, from: number, to: number): WatchEvent[] {
    const backlog: WatchEvent[] = [];
    for (let next = from; next <= to; ) {
      const rows = this.log.since(prefix, next, REPLAY_PAGE);
      backlog.push(...rows.map(toEvent));
      if (rows.length < REPLAY_PAGE) break;
      next = rows[rows.length - 1]!.id + 1;
    }
    return backlog;
  }

  protected async compactStep(to: number): Promise<void> {
    this.log.transaction(() => {
      this.log.compactRange(this.compacted, to);
      this.log.setMeta('compact_rev', to);
    });
    this.compacted = to;
    await nextTick();
  }

  protected override afterCompaction(): Promise<void> {
    return this.reclaim();
  }

  /** The WAL checkpointed and truncated and the freed pages returned, after each periodic compaction. */
  async reclaim(): Promise<void> {
    if (this.closed) return;
    await this.flushing;
    this.log.reclaim();
  }

  /** An online snapshot of the datastore into `file` (a new SQLite file); writes are not paused. */
  async snapshot(file: string): Promise<void> {
    this.assertOpen();
    await this.flushing;
    const copy = this.log.backup(file);
    this.copies.add(copy);
    try {
      await copy;
    } finally {
      this.copies.delete(copy);
    }
  }

  async defragment(): Promise<void> {
    this.assertOpen();
    // Writes are committed synchronously by flush; once the queued ones are in, no transaction is open.
    await this.flushing;
    this.log.vacuum();
  }

  async grantLease(ttlSeconds: number): Promise<number> {
    const id = this.leases.nextId();
    await this.write(() => {
      this.log.saveLease(id, ttlSeconds);
      this.leases.grant(id, ttlSeconds);
      return { result: id, events: [] };
    });
    return id;
  }

  async keepAliveLease(id: number): Promise<void> {
    this.assertOpen();
    this.leases.keepAlive(id);
  }

  revokeLease(id: number): Promise<void> {
    return this.write(() => {
      this.leases.require(id);
      const events = this.log.keysOfLease(id).flatMap((row) => this.tombstone(toKeyValue(row)).events);
      this.log.dropLease(id);
      this.leases.revoke(id);
      return { result: undefined, events };
    });
  }

  protected expiredLeases(now: number): number[] {
    return this.leases.expired(now);
  }

  protected expireLease(id: number): Promise<void> {
    return this.revokeLease(id);
  }

  protected async shutdown(): Promise<void> {
    await this.flushing;
    this.hub.closeAll();
    await Promise.allSettled(this.copies);
    this.log.close();
  }
}
