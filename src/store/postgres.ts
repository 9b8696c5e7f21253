// The kine-style store on Postgres, shared by any number of servers. Each server follows the log:
// a LISTEN connection is told of every commit (by any server), and an ordered catch-up read by
// revision turns the new rows into watch events (see postgres-log.ts for how a revision drawn by a
// transaction that has not committed yet is waited for, never skipped). A missed notification only
// delays events until the next one: the catch-up reads from the last revision seen, not from the
// notifications. currentRevision() is the newest revision up to which every row has been seen; a
// read first catches up to the log's newest commit, so it sees what any server acknowledged before.
import pg from 'pg';
import { LeaseNotFoundError } from './errors.js';
import { assertAbsent, createRow, liveValue, type Row, type RowWithPrev, toEvent, tombstoneRow, updateRow } from './log-rows.js';
import { LogStore, type LogStoreOptions } from './log-store.js';
import { clientConfig, COMPACT_CHANNEL, LostRace, PostgresLog, type Tls, WRITES_CHANNEL } from './postgres-log.js';
import type { DeleteResult, WatchEvent, WriteOptions, WriteResult } from './types.js';

/** The leases' clock (`now`) of every server must agree. */
export interface PostgresOptions extends LogStoreOptions {
  /** postgres://user:password@host:port/database?sslmode=… */
  endpoint: string;
  tls?: Tls;
}

const PAGE = 1000;
const RECONNECT_MS = 1000;

export class PostgresStore extends LogStore<PostgresLog> {
  private listener: pg.Client | undefined;
  /** Writes waiting for the catch-up to reach their revision before they are acknowledged. */
  private waiters: { revision: number; resolve: () => void }[] = [];
  private catching: Promise<void> | undefined;
  private behind = false;

  private constructor(
    log: PostgresLog,
    private readonly config: pg.ClientConfig,
    rev: number,
    compacted: number,
    opts: PostgresOptions,
  ) {
    super(log, rev, compacted, opts);
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

  protected async catchUpForRead(revision: number | undefined): Promise<void> {
    this.assertOpen();
    const newest = await this.log.maxId();
    await this.reached(revision ? Math.min(revision, newest) : newest);
  }

  create(key: string, value: Buffer, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write(async () => {
      const latest = await this.log.latest(key);
      assertAbsent(key, latest);
      return { revision: await this.append(createRow(key, value, opts.lease ?? 0, latest)) };
    });
  }

  update(key: string, value: Buffer, expectedRevision?: number, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write(async () => {
      const prev = liveValue(key, await this.log.latest(key), expectedRevision);
      return { revision: await this.append(updateRow(prev, value, opts.lease ?? 0)) };
    });
  }

  delete(key: string, expectedRevision?: number): Promise<DeleteResult> {
    return this.write(async () => {
      const prev = liveValue(key, await this.log.latest(key), expectedRevision);
      return { revision: await this.append(tombstoneRow(prev)), prev };
    });
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

  protected async history(prefix: string, from: number, to: number): Promise<WatchEvent[]> {
    const events: WatchEvent[] = [];
    for (let next = from; ; ) {
      const rows = await this.log.range(prefix, next, to, PAGE);
      events.push(...rows.map(toEvent));
      if (rows.length < PAGE) return events;
      next = rows[rows.length - 1]!.id + 1;
    }
  }

  protected async compactStep(to: number): Promise<void> {
    const compacted = await this.log.compact(to);
    this.compacted = Math.max(this.compacted, compacted);
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
  protected expiredLeases(now: number): Promise<number[]> {
    return this.log.expiredLeases(now);
  }

  protected expireLease(id: number, now: number): Promise<void> {
    return this.revoke(id, now);
  }

  protected async shutdown(): Promise<void> {
    await this.catching;
    // Their writes are committed; only their events will not be delivered here any more.
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    this.hub.closeAll();
    await this.listener?.end().catch(() => undefined);
    await this.log.close();
  }
}
