// The kine-style store on Postgres, shared by any number of servers. Each server follows the log:
// a LISTEN connection is told of every commit (by any server), and an ordered catch-up read by
// revision turns the new rows into watch events (see postgres-log.ts for how a revision drawn by a
// transaction that has not committed yet is waited for, never skipped). A missed notification only
// delays events until the next one: the catch-up reads from the last revision seen, not from the
// notifications. currentRevision() is the newest revision up to which every row has been seen.
import pg from 'pg';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  LeaseNotFoundError,
  StoreClosedError,
} from './errors.js';
import { decodeContinue, EMPTY, encodeContinue, type Row, type RowWithPrev, toEvent, toKeyValue } from './log-rows.js';
import { clientConfig, COMPACT_CHANNEL, LostRace, PostgresLog, type Tls, WRITES_CHANNEL } from './postgres-log.js';
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

export interface PostgresOptions {
  /** postgres://user:password@host:port/database?sslmode=… */
  endpoint: string;
  tls?: Tls;
  /** How often history older than one interval is compacted away (Kubernetes: 5 minutes). */
  compactIntervalMs?: number;
  /** Events a watcher may have queued before it is closed as too slow. */
  watcherBufferLimit?: number;
  /** How often expired leases are looked for. */
  leaseCheckIntervalMs?: number;
  /** The time leases expire by (tests move it); Date.now by default. Servers' clocks must agree. */
  now?: () => number;
}

const PAGE = 1000;
const COMPACT_STEP = 5000;
const RECONNECT_MS = 1000;

export class PostgresStore implements Store {
  private readonly hub: WatchHub;
  private readonly now: () => number;
  private readonly timers: NodeJS.Timeout[] = [];
  private listener: pg.Client | undefined;
  private closed = false;
  /** Writes waiting for the catch-up to reach their revision before they are acknowledged. */
  private waiters: { revision: number; resolve: () => void }[] = [];
  private catching: Promise<void> | undefined;
  private behind = false;

  private constructor(
    private readonly log: PostgresLog,
    private readonly config: pg.ClientConfig,
    private rev: number,
    private compacted: number,
    opts: PostgresOptions,
  ) {
    this.hub = new WatchHub(opts.watcherBufferLimit ?? 10_000);
    this.now = opts.now ?? Date.now;
    let lastTick = rev;
    this.every(opts.compactIntervalMs ?? 5 * 60_000, () => {
      const target = lastTick;
      lastTick = this.rev;
      return this.compact(target).then(() => undefined);
    });
    this.every(opts.leaseCheckIntervalMs ?? 1000, () => this.expireLeases());
  }

  static async open(opts: PostgresOptions): Promise<PostgresStore> {
    const config = clientConfig(opts.endpoint, opts.tls);
    const log = await PostgresLog.open(config, opts.endpoint);
    try {
      const maxId = await log.maxId();
      const compacted = await log.compactRevision();
      // Rows below maxId may still be committing; after this every one of them is in or never will be.
      await log.waitForWriters();
      const store = new PostgresStore(log, config, Math.max(maxId, compacted), compacted, opts);
      await store.listen();
      return store;
    } catch (err) {
      await log.close();
      throw err;
    }
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      if (!this.closed) task().catch(() => undefined);
    }, ms);
    this.timers.push(timer);
  }

  /** Subscribes to commits; after a lost connection, subscribes again and catches up on what it missed. */
  private async listen(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (n) => {
      if (n.channel === COMPACT_CHANNEL) this.compacted = Math.max(this.compacted, Number(n.payload));
      else this.kick();
    });
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.closed) return;
      const retry = (): void => {
        if (!this.closed) this.listen().catch(() => setTimeout(retry, RECONNECT_MS));
      };
      setTimeout(retry, RECONNECT_MS);
    });
    await client.connect();
    await client.query(`LISTEN ${WRITES_CHANNEL}; LISTEN ${COMPACT_CHANNEL}`);
    this.listener = client;
    if (this.closed) await client.end();
    this.kick();
  }

  /** Starts a catch-up, or asks the running one to read once more. */
  private kick(): void {
    this.behind = true;
    this.catching ??= this.drain().finally(() => {
      this.catching = undefined;
      if (this.behind && !this.closed) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.behind && !this.closed) {
      this.behind = false;
      try {
        await this.catchUp();
      } catch {
        // The database is unreachable: try again shortly (writes waiting here are already committed).
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
        this.behind = true;
      }
    }
  }

  private async catchUp(): Promise<void> {
    let settled = this.rev; // every id at or below it is committed or never will be
    for (;;) {
      const rows = await this.log.after(this.rev, PAGE);
      let n = 0;
      let last = this.rev;
      // A row may follow a missing id only if that id is settled.
      while (n < rows.length && (rows[n]!.id === last + 1 || rows[n]!.id <= settled + 1)) last = rows[n++]!.id;
      this.advance(rows.slice(0, n), last);
      if (this.closed) return;
      if (n < rows.length) {
        settled = rows[rows.length - 1]!.id;
        await this.log.waitForWriters();
      } else if (rows.length < PAGE) {
        return;
      }
    }
  }

  private advance(rows: RowWithPrev[], revision: number): void {
    if (revision <= this.rev) return;
    this.rev = revision;
    this.hub.publish(rows.map(toEvent));
    const ready = this.waiters.filter((w) => w.revision <= revision);
    this.waiters = this.waiters.filter((w) => w.revision > revision);
    for (const w of ready) w.resolve();
  }

  /** Resolves once this server has seen (and told its watchers) every revision up to `revision`. */
  private reached(revision: number): Promise<void> {
    if (revision <= this.rev) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ revision, resolve });
      this.kick();
    });
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
    const at = this.readRevision(revision);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
    const rows = await this.log.list(prefix, at, after, limit ? limit + 1 : null);
    const more = limit !== undefined && rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map(toKeyValue);
    return { items, revision: at, continue: more ? encodeContinue(at, items[items.length - 1]!.key) : undefined };
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    return this.log.count(prefix);
  }

  create(key: string, value: Buffer, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write(async () => {
      const latest = await this.log.latest(key);
      if (latest && !latest.deleted) throw new KeyExistsError(key, latest.id);
      const lease = opts.lease ?? 0;
      const id = await this.append({ name: key, created: 1, deleted: 0, create_revision: 0, prev_revision: latest?.id ?? 0, lease, value });
      return { revision: id };
    });
  }

  update(key: string, value: Buffer, expectedRevision?: number, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write(async () => {
      const prev = await this.current(key, expectedRevision);
      const id = await this.append({
        name: key,
        created: 0,
        deleted: 0,
        create_revision: prev.createRevision,
        prev_revision: prev.modRevision,
        lease: opts.lease ?? 0,
        value,
      });
      return { revision: id };
    });
  }

  delete(key: string, expectedRevision?: number): Promise<DeleteResult> {
    return this.write(async () => {
      const prev = await this.current(key, expectedRevision);
      const id = await this.append({
        name: key,
        created: 0,
        deleted: 1,
        create_revision: prev.createRevision,
        prev_revision: prev.modRevision,
        lease: 0,
        value: EMPTY,
      });
      return { revision: id, prev };
    });
  }

  /** The live value of key, checked against the caller's expected revision. */
  private async current(key: string, expectedRevision: number | undefined): Promise<KeyValue> {
    const latest = await this.log.latest(key);
    if (!latest || latest.deleted) throw new KeyNotFoundError(key);
    if (expectedRevision !== undefined && expectedRevision !== latest.id) throw new ConflictError(key, expectedRevision, latest.id);
    return toKeyValue(latest);
  }

  private async append(row: Omit<Row, 'id'>): Promise<number> {
    const id = await this.log.append(row);
    if (id === undefined) throw new LeaseNotFoundError(row.lease);
    return id;
  }

  /**
   * Runs a read-check-append attempt until it does not lose a race (a lost race is re-read and then
   * reported as the conflict it is, or retried if unconditional), and acknowledges it once this
   * server's watchers have its event, so a write is never acknowledged ahead of currentRevision().
   */
  private async write<T extends WriteResult>(attempt: () => Promise<T>): Promise<T> {
    for (;;) {
      this.assertOpen();
      try {
        const result = await attempt();
        await this.reached(result.revision);
        return result;
      } catch (err) {
        if (!(err instanceof LostRace)) throw err;
      }
    }
  }

  watch(prefix: string, opts: WatchOptions = {}): Watcher {
    this.assertOpen();
    const from = opts.fromRevision ?? 0;
    if (from > 0 && from <= this.compacted) throw new CompactedError(from, this.compacted);
    // History up to the revision seen now is read from the table; everything after it is published live.
    const upTo = this.rev;
    const backlog = from > 0 && from <= upTo ? this.history(prefix, from, upTo) : [];
    return this.hub.add(prefix, from || upTo + 1, backlog);
  }

  private async history(prefix: string, from: number, to: number): Promise<WatchEvent[]> {
    const events: WatchEvent[] = [];
    for (let next = from; ; ) {
      const rows = await this.log.range(prefix, next, to, PAGE);
      events.push(...rows.map(toEvent));
      if (rows.length < PAGE) return events;
      next = rows[rows.length - 1]!.id + 1;
    }
  }

  async compact(revision?: number): Promise<number> {
    this.assertOpen();
    const target = Math.min(revision ?? this.rev, this.rev);
    while (this.compacted < target && !this.closed) {
      const to = await this.log.compact(Math.min(this.compacted + COMPACT_STEP, target));
      this.compacted = Math.max(this.compacted, to);
    }
    return this.compacted;
  }

  async defragment(): Promise<void> {
    this.assertOpen();
    await this.log.vacuum();
  }

  grantLease(ttlSeconds: number): Promise<number> {
    this.assertOpen();
    return this.log.grantLease(ttlSeconds, this.now());
  }

  async keepAliveLease(id: number): Promise<void> {
    this.assertOpen();
    if (!(await this.log.keepAliveLease(id, this.now()))) throw new LeaseNotFoundError(id);
  }

  async revokeLease(id: number): Promise<void> {
    await this.revoke(id);
  }

  /** With expiredBy, only if the lease has not been kept alive past it (an expiry, not a revoke). */
  private async revoke(id: number, expiredBy?: number): Promise<void> {
    await this.write(async () => {
      const revisions = await this.log.revokeLease(id, expiredBy);
      if (revisions === undefined && expiredBy === undefined) throw new LeaseNotFoundError(id);
      return { revision: Math.max(0, ...(revisions ?? [])) };
    });
  }

  /** Every server looks; the conditional delete in revokeLease lets exactly one of them do it. */
  private async expireLeases(): Promise<void> {
    const now = this.now();
    const expired = await this.log.expiredLeases(now);
    await Promise.allSettled(expired.map((id) => this.revoke(id, now)));
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.catching;
    // Their writes are committed; only their events will not be delivered here any more.
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    this.hub.closeAll();
    await this.listener?.end().catch(() => undefined);
    await this.log.close();
  }
}
