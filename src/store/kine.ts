// The kine-style store: key/value semantics with revisions, preconditions, watches, compaction and
// leases on top of the SQLite revision log. Writes queued in the same tick share one transaction,
// so one fsync acknowledges many writes (group commit), and each precondition is checked inside it.
import { setImmediate as nextTick } from 'node:timers/promises';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  InvalidContinueError,
  KeyExistsError,
  KeyNotFoundError,
  StoreClosedError,
  StoreError,
} from './errors.js';
import { SqliteLog, type Row, type RowWithPrev } from './sqlite-log.js';
import { WatchHub } from './watch-hub.js';
import { LeaseTable } from './leases.js';
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

export interface KineOptions {
  file: string;
  /** How often history older than one interval is compacted away (Kubernetes: 5 minutes). */
  compactIntervalMs?: number;
  /** Events a watcher may have queued before it is closed as too slow. */
  watcherBufferLimit?: number;
  /** How often expired leases are looked for. */
  leaseCheckIntervalMs?: number;
  /** The time leases expire by (tests move it); Date.now by default. */
  now?: () => number;
}

interface Pending {
  run: () => { result: unknown; events: WatchEvent[] };
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

const EMPTY = Buffer.alloc(0);
const COMPACT_STEP = 5000;
const REPLAY_PAGE = 1000;

function toKeyValue(row: Row): KeyValue {
  return {
    key: row.name,
    value: row.value,
    createRevision: row.created ? row.id : row.create_revision,
    modRevision: row.id,
    lease: row.lease,
  };
}

function toEvent(row: RowWithPrev): WatchEvent {
  const prev: KeyValue | undefined =
    row.prev_value === null
      ? undefined
      : {
          key: row.name,
          value: row.prev_value,
          createRevision: row.prev_create_revision!,
          modRevision: row.prev_revision,
          lease: row.prev_lease!,
        };
  if (row.deleted) return { type: 'delete', kv: { ...toKeyValue(row), value: EMPTY, lease: 0 }, prev };
  return { type: 'put', kv: toKeyValue(row), prev };
}

function encodeContinue(revision: number, after: string): string {
  return Buffer.from(JSON.stringify({ rev: revision, after })).toString('base64url');
}

function decodeContinue(token: string, prefix: string): { rev: number; after: string } {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString()) as { rev: unknown; after: unknown };
    if (Number.isInteger(c.rev) && typeof c.after === 'string' && c.after.startsWith(prefix)) {
      return { rev: c.rev as number, after: c.after };
    }
  } catch {
    // fall through to the error below
  }
  throw new InvalidContinueError(token);
}

export class KineStore implements Store {
  private readonly log: SqliteLog;
  private readonly hub: WatchHub;
  private readonly leases: LeaseTable;
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  private rev: number;
  private compacted: number;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Snapshots being copied: close() lets them finish first. */
  private readonly copies = new Set<Promise<void>>();

  constructor(opts: KineOptions) {
    this.log = new SqliteLog(opts.file);
    this.rev = this.log.currentRevision();
    this.compacted = this.log.meta('compact_rev');
    this.hub = new WatchHub(opts.watcherBufferLimit ?? 10_000);
    this.leases = new LeaseTable(this.log.leases(), opts.now);

    let lastTick = this.rev;
    const compactEvery = opts.compactIntervalMs ?? 5 * 60_000;
    this.every(compactEvery, () => {
      const target = lastTick;
      lastTick = this.rev;
      return this.compact(target).then(() => this.reclaim());
    });
    this.every(opts.leaseCheckIntervalMs ?? 1000, () => this.expireLeases());
  }

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
    const at = this.readRevision(opts.revision);
    const row = this.log.latest(key, at);
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
    const at = this.readRevision(revision);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const rows = this.log.list(prefix, at, after, limit > 0 ? limit + 1 : -1);
    const more = limit > 0 && rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map(toKeyValue);
    return { items, revision: at, continue: more ? encodeContinue(at, items[items.length - 1]!.key) : undefined };
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    return this.log.count(prefix);
  }

  create(key: string, value: Buffer, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write(() => {
      const latest = this.log.latest(key);
      if (latest && !latest.deleted) throw new KeyExistsError(key, latest.id);
      const lease = this.leaseFor(opts);
      const id = this.append({ name: key, created: 1, deleted: 0, create_revision: 0, prev_revision: latest?.id ?? 0, lease, value });
      const kv: KeyValue = { key, value, createRevision: id, modRevision: id, lease };
      return { result: { revision: id }, events: [{ type: 'put', kv }] };
    });
  }

  update(key: string, value: Buffer, expectedRevision?: number, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write(() => {
      const prev = this.current(key, expectedRevision);
      const lease = this.leaseFor(opts);
      const id = this.append({
        name: key,
        created: 0,
        deleted: 0,
        create_revision: prev.createRevision,
        prev_revision: prev.modRevision,
        lease,
        value,
      });
      const kv: KeyValue = { key, value, createRevision: prev.createRevision, modRevision: id, lease };
      return { result: { revision: id }, events: [{ type: 'put', kv, prev }] };
    });
  }

  delete(key: string, expectedRevision?: number): Promise<DeleteResult> {
    return this.write(() => {
      const prev = this.current(key, expectedRevision);
      return this.tombstone(prev);
    });
  }

  /** The live value of key, checked against the caller's expected revision. */
  private current(key: string, expectedRevision: number | undefined): KeyValue {
    const latest = this.log.latest(key);
    if (!latest || latest.deleted) throw new KeyNotFoundError(key);
    if (expectedRevision !== undefined && expectedRevision !== latest.id) throw new ConflictError(key, expectedRevision, latest.id);
    return toKeyValue(latest);
  }

  private tombstone(prev: KeyValue): { result: DeleteResult; events: WatchEvent[] } {
    const id = this.append({
      name: prev.key,
      created: 0,
      deleted: 1,
      create_revision: prev.createRevision,
      prev_revision: prev.modRevision,
      lease: 0,
      value: EMPTY,
    });
    const kv: KeyValue = { key: prev.key, value: EMPTY, createRevision: prev.createRevision, modRevision: id, lease: 0 };
    return { result: { revision: id, prev }, events: [{ type: 'delete', kv, prev }] };
  }

  private leaseFor(opts: WriteOptions): number {
    if (opts.lease) this.leases.require(opts.lease);
    return opts.lease ?? 0;
  }

  private append(row: Omit<Row, 'id'>): number {
    this.rev = this.log.append(row);
    return this.rev;
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

  watch(prefix: string, opts: WatchOptions = {}): Watcher {
    this.assertOpen();
    const from = opts.fromRevision ?? 0;
    if (from > 0 && from <= this.compacted) throw new CompactedError(from, this.compacted);
    // Reading the backlog and registering happen in one synchronous step, so no commit falls between.
    const backlog: WatchEvent[] = [];
    for (let next = from; from > 0 && next <= this.rev; ) {
      const rows = this.log.since(prefix, next, REPLAY_PAGE);
      backlog.push(...rows.map(toEvent));
      if (rows.length < REPLAY_PAGE) break;
      next = rows[rows.length - 1]!.id + 1;
    }
    return this.hub.add(prefix, from || this.rev + 1, backlog);
  }

  async compact(revision?: number): Promise<number> {
    this.assertOpen();
    const target = Math.min(revision ?? this.rev, this.rev);
    while (this.compacted < target && !this.closed) {
      const to = Math.min(this.compacted + COMPACT_STEP, target);
      this.log.transaction(() => {
        this.log.compactRange(this.compacted, to);
        this.log.setMeta('compact_rev', to);
      });
      this.compacted = to;
      await nextTick();
    }
    return this.compacted;
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

  private async expireLeases(): Promise<void> {
    await Promise.allSettled(this.leases.expired().map((id) => this.revokeLease(id)));
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.flushing;
    this.hub.closeAll();
    await Promise.allSettled(this.copies);
    this.log.close();
  }
}
