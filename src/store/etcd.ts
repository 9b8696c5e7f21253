// The Store on etcd v3 (an embedded member of `skiff server --cluster-init`, or an external cluster):
// etcd's revisions are the Store's, writes are etcd transactions (the precondition is a compare), a
// Store watch is an etcd watch with previous values, leases and compaction are etcd's. Reads and
// watches go to any member the client picks and move to another when one dies. currentRevision() is
// the newest revision seen in any answer, and a progress request each second keeps it near etcd's.
// The store has one key of its own, COMPACT_KEY (etcd-compactor.ts), which lists, counts and
// watches leave out.
import { Etcd3, EtcdLeaseInvalidError, type IOptions, isRecoverableError } from 'etcd3';
import { clientOptions } from './etcd-client.js';
import { COMPACT_KEY, Compactor } from './etcd-compactor.js';
import { parseEtcdEndpoints } from './etcd-endpoints.js';
import { isCompacted, isFuture, keyAfter, prefixRange, revisionOf, toEvent, toKeyValue } from './etcd-kv.js';
import { isLeaseTaken, keepAliveOnce, newLeaseId } from './etcd-leases.js';
import { assertChanged, assertCreated, changeTxn, createTxn, deleted, deleteOp, putOp } from './etcd-txn.js';
import { compactRevisionAbove, EtcdWatch } from './etcd-watch.js';
import { CompactedError, FutureRevisionError, LeaseNotFoundError, StoreClosedError, StoreError, StoreOpenError } from './errors.js';
import { decodeContinue, EMPTY, encodeContinue } from './log-rows.js';
import type { LogStoreOptions } from './log-store.js';
import type { Tls } from './postgres-log.js';
import type {
  DeleteResult,
  KeyValue,
  ListOptions,
  ListResult,
  ReadOptions,
  Store,
  WatchOptions,
  Watcher,
  WriteOptions,
  WriteResult,
} from './types.js';
import { WatchStream } from './watch-hub.js';
import { writeEtcdSnapshot } from './etcd-snapshot.js';

export interface EtcdOptions extends Pick<LogStoreOptions, 'compactIntervalMs' | 'watcherBufferLimit'> {
  /** The members' client URLs (see parseEtcdEndpoints): all http://, or all https://. */
  endpoints: string[];
  tls?: Tls;
}

const PROGRESS_MS = 1000;
/** A read that failed on the way is sent again this many times in all. */
const READ_ATTEMPTS = 3;
/** Compacting or defragmenting a large database takes longer than an ordinary call may. */
const MAINTENANCE_TIMEOUT_MS = 10 * 60_000;

const visible = (kv: KeyValue) => kv.key !== COMPACT_KEY;

export class EtcdStore implements Store {
  private closed = false;
  private readonly stopping = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly streams = new Set<WatchStream>();
  private readonly bufferLimit: number;
  private readonly compactor: Compactor;

  private constructor(
    private readonly client: Etcd3,
    private readonly options: IOptions,
    private rev: number,
    private compacted: number,
    compactVersion: number,
    opts: EtcdOptions,
  ) {
    this.bufferLimit = opts.watcherBufferLimit ?? 10_000;
    const self = {
      currentRevision: () => this.rev,
      compactRevision: () => this.compacted,
      compact: (revision: number) => this.compact(revision),
      saw: (revision: number) => this.saw(revision),
      compacting: (revision: number) => (this.compacted = Math.max(this.compacted, revision)),
    };
    this.compactor = new Compactor(client, self, compactVersion);
    this.every(opts.compactIntervalMs ?? 5 * 60_000, () => this.compactor.tick());
    this.every(PROGRESS_MS, async () => this.compactor.requestProgress());
  }

  static async open(opts: EtcdOptions): Promise<EtcdStore> {
    if (opts.endpoints.length === 0) throw new StoreOpenError('no etcd endpoint given');
    const endpoints = parseEtcdEndpoints(opts.endpoints.join(','));
    const options = clientOptions(endpoints, opts.tls);
    const client = new Etcd3(options);
    try {
      const key = Buffer.from(COMPACT_KEY);
      const res = await client.kv.range({ key });
      const rev = revisionOf(res.header);
      // A read at revision 1 works unless etcd has compacted past it.
      const compacted = await client.kv.range({ key, revision: 1 }).then(
        () => 0,
        (err: unknown) => {
          if (!isCompacted(err)) throw err;
          return compactRevisionAbove(client.watchClient, 1, new AbortController().signal);
        },
      );
      return new EtcdStore(client, options, rev, compacted, Number(res.kvs[0]?.version ?? 0), opts);
    } catch (err) {
      client.close();
      throw new StoreOpenError(`cannot open the etcd datastore at ${endpoints.join(',')}: ${(err as Error).message}`);
    }
  }

  private every(ms: number, task: () => Promise<void>): void {
    this.timers.push(
      setInterval(() => {
        if (!this.closed) task().catch(() => undefined);
      }, ms),
    );
  }

  private saw(revision: number): number {
    if (revision > this.rev) this.rev = revision;
    return revision;
  }

  currentRevision(): number {
    return this.rev;
  }

  compactRevision(): number {
    return this.compacted;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  /** A read at `revision` (0 or undefined: the latest), or a call as safe to repeat, sent again when it failed on the way. */
  private async read<T>(revision: number | undefined, op: () => Promise<T>): Promise<T> {
    this.assertOpen();
    if (revision && revision <= this.compacted) throw new CompactedError(revision, this.compacted);
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        const again = attempt < READ_ATTEMPTS && err instanceof Error && isRecoverableError(err) && !this.closed;
        if (!again) throw await this.storeError(err, revision);
      }
    }
  }

  /** A write, sent once: one whose answer was lost may have been applied, and that is for the caller to find out. */
  private async write<T>(op: () => Promise<T>, lease = 0): Promise<T> {
    this.assertOpen();
    try {
      return await op();
    } catch (err) {
      if (err instanceof EtcdLeaseInvalidError) throw new LeaseNotFoundError(lease);
      throw await this.storeError(err);
    }
  }

  private async storeError(err: unknown, revision?: number): Promise<unknown> {
    if (this.closed) return new StoreClosedError();
    if (revision && isCompacted(err)) {
      this.compacted = Math.max(this.compacted, await compactRevisionAbove(this.client.watchClient, revision, this.stopping.signal));
      return new CompactedError(revision, this.compacted);
    }
    if (revision && isFuture(err)) return new FutureRevisionError(revision, this.rev);
    return err;
  }

  async get(key: string, opts: ReadOptions = {}): Promise<KeyValue | undefined> {
    const res = await this.read(opts.revision, () => this.client.kv.range({ key: Buffer.from(key), revision: opts.revision ?? 0 }));
    this.saw(revisionOf(res.header));
    return res.kvs[0] && toKeyValue(res.kvs[0]);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    let revision = opts.revision;
    let after: string | undefined;
    if (opts.continue) ({ rev: revision, after } = decodeContinue(opts.continue, prefix));
    const range = prefixRange(prefix);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const res = await this.read(revision, () =>
      this.client.kv.range({ ...range, key: after === undefined ? range.key : keyAfter(after), limit, revision: revision ?? 0 }),
    );
    const at = revision || revisionOf(res.header);
    this.saw(revisionOf(res.header));
    const last = res.kvs[res.kvs.length - 1];
    return {
      items: res.kvs.map(toKeyValue).filter(visible),
      revision: at,
      continue: res.more && last ? encodeContinue(at, last.key.toString()) : undefined,
    };
  }

  async count(prefix: string): Promise<number> {
    const counted = [prefixRange(prefix)];
    // COMPACT_KEY is counted on its own, in the same transaction, and taken off.
    if (COMPACT_KEY.startsWith(prefix)) counted.push({ key: Buffer.from(COMPACT_KEY), range_end: EMPTY });
    const res = await this.read(undefined, () =>
      this.client.kv.txn({ success: counted.map((range) => ({ request_range: { ...range, count_only: true } })) }),
    );
    this.saw(revisionOf(res.header));
    const [all, own] = res.responses.map((r) => Number(r.response_range.count));
    return all! - (own ?? 0);
  }

  async create(key: string, value: Buffer, opts: WriteOptions = {}): Promise<WriteResult> {
    const lease = opts.lease ?? 0;
    const res = await this.write(() => this.client.kv.txn(createTxn(key, value, lease)), lease);
    const revision = this.saw(revisionOf(res.header));
    assertCreated(res, key);
    return { revision };
  }

  async update(key: string, value: Buffer, expectedRevision?: number, opts: WriteOptions = {}): Promise<WriteResult> {
    const lease = opts.lease ?? 0;
    const res = await this.write(() => this.client.kv.txn(changeTxn(key, expectedRevision, putOp(key, value, lease))), lease);
    const revision = this.saw(revisionOf(res.header));
    assertChanged(res, key, expectedRevision);
    return { revision };
  }

  async delete(key: string, expectedRevision?: number): Promise<DeleteResult> {
    const res = await this.write(() => this.client.kv.txn(changeTxn(key, expectedRevision, deleteOp(key))));
    const revision = this.saw(revisionOf(res.header));
    assertChanged(res, key, expectedRevision);
    return { revision, prev: deleted(res) };
  }

  watch(prefix: string, opts: WatchOptions = {}): Watcher {
    this.assertOpen();
    const from = opts.fromRevision ?? 0;
    if (from > 0 && from <= this.compacted) throw new CompactedError(from, this.compacted);
    // Events up to the revision seen now are history, queued whole as the other stores do; the
    // buffer limit is for live events piling up.
    const upTo = this.rev;
    const start = from || upTo + 1;
    const stream: WatchStream = new WatchStream(prefix, start, this.bufferLimit, () => {
      this.streams.delete(stream);
      watch.close();
    });
    const watch = new EtcdWatch(this.client.watchClient, { ...prefixRange(prefix), prevKv: true }, start, {
      events: (events) => {
        const all = events.map(toEvent).filter((e) => visible(e.kv));
        const history = all.filter((e) => e.kv.modRevision <= upTo);
        if (history.length > 0) stream.enqueue(history);
        stream.push(all.filter((e) => e.kv.modRevision > upTo));
      },
      revision: (revision) => this.saw(revision),
      failed: (err) => {
        if (err instanceof CompactedError) this.compacted = Math.max(this.compacted, err.compactRevision);
        stream.finish(err);
      },
    });
    this.streams.add(stream);
    return stream;
  }

  async compact(revision?: number): Promise<number> {
    this.assertOpen();
    const target = Math.min(revision ?? this.rev, this.rev);
    if (target <= this.compacted) return this.compacted;
    try {
      // Physical: answered once the history is gone from etcd's database, so that defragment frees it.
      const deadline = Date.now() + MAINTENANCE_TIMEOUT_MS;
      this.saw(revisionOf((await this.client.kv.compact({ revision: target, physical: true }, { deadline })).header));
      this.compacted = Math.max(this.compacted, target);
    } catch (err) {
      if (!isCompacted(err)) throw await this.storeError(err);
      // Another server compacted as far or further.
      const known = target > 1 ? await compactRevisionAbove(this.client.watchClient, target - 1, this.stopping.signal) : target;
      this.compacted = Math.max(this.compacted, known);
    }
    return this.compacted;
  }

  /** Every member, one after another (a member answers nobody while it defragments). */
  async defragment(): Promise<void> {
    this.assertOpen();
    const failed: string[] = [];
    for (const endpoint of this.options.hosts) {
      const member = new Etcd3({ ...this.options, hosts: [endpoint] });
      try {
        await member.maintenance.defragment({ deadline: Date.now() + MAINTENANCE_TIMEOUT_MS });
      } catch (err) {
        failed.push(`${endpoint}: ${(err as Error).message}`);
      } finally {
        member.close();
      }
    }
    if (failed.length > 0) throw new StoreError(`etcd defragment failed on ${failed.join('; ')}`);
  }

  /**
   * etcd's snapshot of its whole keyspace into `file` (what `etcdctl snapshot save` writes), checked
   * against the sha256 etcd appends to it; writes go on meanwhile.
   */
  async snapshot(file: string): Promise<void> {
    this.assertOpen();
    await writeEtcdSnapshot(await this.client.maintenance.snapshot(), file);
  }

  async grantLease(ttlSeconds: number): Promise<number> {
    for (;;) {
      const id = newLeaseId();
      try {
        this.saw(revisionOf((await this.write(() => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id }))).header));
        return id;
      } catch (err) {
        if (!isLeaseTaken(err)) throw err;
      }
    }
  }

  async keepAliveLease(id: number): Promise<void> {
    // A keep-alive is as safe to send again as a read.
    const res = await this.read(undefined, () => keepAliveOnce(this.client.leaseClient, id));
    if (Number(res.TTL) <= 0) throw new LeaseNotFoundError(id);
  }

  async revokeLease(id: number): Promise<void> {
    this.saw(revisionOf((await this.write(() => this.client.leaseClient.leaseRevoke({ ID: id }), id)).header));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.stopping.abort();
    for (const stream of [...this.streams]) stream.finish();
    this.compactor.close();
    this.client.close();
  }
}
