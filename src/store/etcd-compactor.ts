// Periodic compaction of an etcd that several servers share, done by one of them per interval, the
// way kube-apiserver does it (and with its key, so that one sharing the etcd takes turns too): every
// server ticks every interval; a tick writes COMPACT_KEY only if the key's version is still the one
// this server last saw (one transaction), and only a server whose write went through compacts, to
// the revision it saw one interval before. A server whose write failed learns the version and tries
// again next interval. Each such write is a revision of its own; when nothing but those writes came
// after the last compaction, a tick does nothing, so an idle cluster is left alone. Every server
// follows COMPACT_KEY with a watch, and so knows how far the others compacted; the same stream
// carries the store's progress requests, the answers to which keep currentRevision() near etcd's.
import { CompareResult, CompareTarget, type Etcd3 } from 'etcd3';
import { revisionOf } from './etcd-kv.js';
import { EtcdWatch } from './etcd-watch.js';
import { EMPTY } from './log-rows.js';

export const COMPACT_KEY = 'compact_rev_key';

/** What the compactor needs of its store. */
export interface Compactable {
  currentRevision(): number;
  compactRevision(): number;
  compact(revision: number): Promise<number>;
  /** A revision etcd has reached. */
  saw(revision: number): void;
  /** Another server compacts (or just compacted) up to `revision`. */
  compacting(revision: number): void;
}

export class Compactor {
  private lastTick: number;
  /** Revisions of the COMPACT_KEY writes (any server's) after the compact revision. */
  private readonly marks = new Set<number>();

  private following: EtcdWatch | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly store: Compactable,
    /** COMPACT_KEY's version as this server last saw it. */
    private version: number,
  ) {
    this.lastTick = store.currentRevision();
    this.following = this.follow();
  }

  private follow(): EtcdWatch {
    const key = { key: Buffer.from(COMPACT_KEY), range_end: EMPTY, prevKv: false };
    return new EtcdWatch(this.client.watchClient, key, this.store.currentRevision() + 1, {
      events: (events) => {
        for (const e of events) {
          this.marks.add(Number(e.kv.mod_revision));
          // The value is the revision its writer compacts to, right after.
          const target = Number(e.kv.value.toString());
          if (Number.isSafeInteger(target)) this.store.compacting(target);
        }
      },
      revision: (revision) => this.store.saw(revision),
      // Its start was compacted while it was away: it starts again at the next progress request.
      failed: () => (this.following = undefined),
    });
  }

  /** Asks etcd for its revision, which comes back through the store's saw(). */
  requestProgress(): void {
    if (this.following) this.following.requestProgress();
    else this.following = this.follow();
  }

  close(): void {
    this.following?.close();
  }

  async tick(): Promise<void> {
    const target = this.lastTick;
    this.lastTick = this.store.currentRevision();
    if (this.nothingToCompact(target)) return;
    const key = Buffer.from(COMPACT_KEY);
    const res = await this.client.kv.txn({
      compare: [{ key, target: CompareTarget.Version, result: CompareResult.Equal, version: this.version }],
      success: [{ request_put: { key, value: Buffer.from(String(target)) } }],
      failure: [{ request_range: { key } }],
    });
    this.store.saw(revisionOf(res.header));
    if (!res.succeeded) {
      this.version = Number(res.responses[0]?.response_range.kvs[0]?.version ?? 0);
      return;
    }
    this.version += 1;
    this.marks.add(revisionOf(res.header));
    await this.store.compact(target);
  }

  /** True when every revision after the compact revision up to `target` is a COMPACT_KEY write. */
  private nothingToCompact(target: number): boolean {
    const compacted = this.store.compactRevision();
    for (const m of this.marks) if (m <= compacted) this.marks.delete(m);
    return target - compacted <= [...this.marks].filter((m) => m <= target).length;
  }
}
