// The kine-style store on a SQL log shared by any number of servers (Postgres, MySQL). Each server
// follows the log: told by its subclass that rows may have come (a notification, or a poll), it
// reads them in revision order from the last revision it has seen (the catch-up), waiting for ids
// drawn by transactions still in flight instead of skipping them (see sql-log.ts). Being told is
// only a trigger: the catch-up reads from the last revision seen, so a missed signal only delays
// events until the next one. currentRevision() is the newest revision up to which every row has
// been seen, and a write is acknowledged once this server's watchers have its event; a read first
// catches up to the log's newest commit, so it sees what any server acknowledged before it began.
import { CompactedError, LeaseNotFoundError } from './errors.js';
import { assertAbsent, createRow, liveValue, type Row, type RowWithPrev, toEvent, tombstoneRow, updateRow } from './log-rows.js';
import { LogStore } from './log-store.js';
import { LostRace, type SqlLog } from './sql-log.js';
import type { DeleteResult, WatchEvent, WriteOptions, WriteResult } from './types.js';

const PAGE = 1000;
/** How long to wait before trying again when the database is unreachable. */
export const RECONNECT_MS = 1000;

export abstract class SqlStore<L extends SqlLog> extends LogStore<L> {
  /** Writes waiting for the catch-up to reach their revision before they are acknowledged. */
  private waiters: { revision: number; resolve: () => void }[] = [];
  private catching: Promise<void> | undefined;
  private behind = false;

  /** Starts being told of new rows; rows already there are read by a catch-up kicked here. */
  protected abstract follow(): Promise<void>;
  /** Stops what follow() started. */
  protected abstract unfollow(): Promise<void>;

  /**
   * A store on `log` that starts where the log now ends, and follows it. `make` builds the store; the
   * log is closed if this fails.
   */
  protected static async start<L extends SqlLog, S extends SqlStore<L>>(log: L, make: (rev: number, compacted: number) => S): Promise<S> {
    let store: S;
    try {
      const { head, compacted } = await log.head();
      // Rows below the head may still be committing; after this every one of them is in or never will be.
      await log.waitForWriters();
      store = make(Math.max(head, compacted), compacted);
    } catch (err) {
      await log.close();
      throw err;
    }
    try {
      await store.follow();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** Another server compacted up to `revision`. */
  protected compactedTo(revision: number): void {
    this.compacted = Math.max(this.compacted, revision);
  }

  /** Starts a catch-up, or asks the running one to read once more. */
  protected kick(): void {
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

  /** A read first catches up to the log's newest commit: it sees what any server acknowledged before. */
  protected async catchUpForRead(revision: number | undefined): Promise<void> {
    this.assertOpen();
    const { head, compacted } = await this.log.head();
    this.compactedTo(compacted);
    await this.reached(revision ? Math.min(revision, head) : head);
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

  /**
   * Fails (the watch ends with CompactedError) when another server compacted the history away before
   * this one heard of it: the compact revision is read after the rows, so rows it removed are never
   * replayed as if they had not been there.
   */
  protected async history(prefix: string, from: number, to: number): Promise<WatchEvent[]> {
    const events: WatchEvent[] = [];
    for (let next = from; ; ) {
      const rows = await this.log.range(prefix, next, to, PAGE);
      events.push(...rows.map(toEvent));
      if (rows.length < PAGE) break;
      next = rows[rows.length - 1]!.id + 1;
    }
    this.compactedTo((await this.log.head()).compacted);
    if (from <= this.compacted) throw new CompactedError(from, this.compacted);
    return events;
  }

  protected async compactStep(to: number): Promise<void> {
    this.compactedTo(await this.log.compact(to));
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
    await this.unfollow();
    await this.log.close();
  }
}
