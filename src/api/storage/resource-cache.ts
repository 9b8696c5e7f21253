// The watch cache of one resource (upstream's watchCache): every object under its datastore prefix,
// decoded (and decrypted: plaintext lives only in this process's memory) once per revision, kept in
// key order, with the last events for watches that resume from a recent resourceVersion. It follows
// the datastore with one watch; when that watch ends (compaction overtook it, the store closed) the
// cache stops, ends its watches (their clients watch again) and the next read builds a new one.
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { KeyValue, Store, WatchEvent, Watcher } from '../../store/index.js';
import { type CacheEvent, CacheWatch } from './cache-watch.js';
import { share } from './shared-json.js';

/** Decodes a stored value; throws when it cannot be read (no key for an encrypted value, say). */
export type Decoder = (kv: KeyValue) => StoredObject;

/** A value that could not be decoded when it came: tried again when read (a key may be loaded since). */
interface Undecodable {
  kv: KeyValue;
}
type Entry = StoredObject | Undecodable;
const undecodable = (e: Entry): e is Undecodable => 'kv' in e;

/** Events kept for watches that start from a resourceVersion in the past (upstream keeps 100 to 100k). */
const HISTORY = 1000;

export interface CachePage {
  items: StoredObject[];
  /** The key of the last item, when keys after it remain. */
  more?: string;
}

export class ResourceCache {
  private readonly entries = new Map<string, Entry>();
  /** The keys of `entries`, sorted: lists are in key order and pages start after a key. */
  private readonly keys: string[] = [];
  private readonly history: CacheEvent[] = [];
  /** Every event after this revision is in `history`. */
  private oldest: number;
  private readonly watches = new Set<CacheWatch>();
  stopped = false;

  private constructor(
    /** Every event up to this revision is applied. */
    public revision: number,
    private readonly decode: Decoder,
  ) {
    this.oldest = revision;
  }

  /**
   * Lists the prefix and follows it. The watch opens first, from the store's revision on, so that no
   * event between it and the list is missed; events the list already holds are skipped.
   */
  static async start(store: Store, prefix: string, decode: Decoder, onStop: () => void): Promise<ResourceCache> {
    const watcher = store.watch(prefix, { fromRevision: store.currentRevision() + 1 });
    try {
      const listed = await store.list(prefix);
      const cache = new ResourceCache(listed.revision, decode);
      for (const kv of listed.items) {
        cache.entries.set(kv.key, cache.entryOf(kv));
        cache.keys.push(kv.key);
      }
      void cache.follow(watcher, onStop);
      return cache;
    } catch (err) {
      watcher.close();
      throw err;
    }
  }

  private async follow(watcher: Watcher, onStop: () => void): Promise<void> {
    try {
      for await (const batch of watcher) this.apply(batch);
    } catch {
      // The cache is rebuilt on the next read, from the datastore as it is then.
    }
    this.stopped = true;
    onStop();
    for (const w of [...this.watches]) w.close();
  }

  private entryOf(kv: KeyValue): Entry {
    try {
      return share(this.decode(kv));
    } catch {
      return { kv };
    }
  }

  private apply(batch: WatchEvent[]): void {
    const events: CacheEvent[] = [];
    for (const e of batch) {
      const revision = e.kv.modRevision;
      if (revision <= this.revision) continue;
      const key = e.kv.key;
      const old = this.entries.get(key);
      const prev = old && !undecodable(old) ? old : undefined;
      if (e.type === 'delete') {
        this.remove(key);
        if (prev) {
          const object = share({ ...prev, metadata: { ...prev.metadata, resourceVersion: String(revision) } });
          events.push({ key, deleted: true, object, prev, revision });
        }
      } else {
        const entry = this.entryOf(e.kv);
        this.set(key, entry);
        if (!undecodable(entry)) events.push({ key, deleted: false, object: entry, prev, revision });
      }
      this.revision = revision;
    }
    if (events.length === 0) return;
    this.history.push(...events);
    if (this.history.length > HISTORY) this.oldest = this.history.splice(0, this.history.length - HISTORY).at(-1)!.revision;
    for (const w of this.watches) w.deliver(events);
  }

  /** The first index whose key is >= `key`. */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private set(key: string, entry: Entry): void {
    if (!this.entries.has(key)) this.keys.splice(this.lowerBound(key), 0, key);
    this.entries.set(key, entry);
  }

  private remove(key: string): void {
    if (!this.entries.delete(key)) return;
    this.keys.splice(this.lowerBound(key), 1);
  }

  /** The object under `key`; throws when its stored value cannot be read. */
  get(key: string): StoredObject | undefined {
    const entry = this.entries.get(key);
    if (!entry || !undecodable(entry)) return entry;
    const obj = share(this.decode(entry.kv));
    this.entries.set(key, obj);
    return obj;
  }

  /**
   * The objects under `prefix` that match, in key order, after the key `after`; with a limit, at most
   * that many, and `more` set when keys remain after the last one.
   */
  list(prefix: string, match: (o: KObject) => boolean, after = '', limit?: number): CachePage {
    const items: StoredObject[] = [];
    let i = this.lowerBound(after >= prefix ? `${after}\u0000` : prefix);
    for (; i < this.keys.length && this.keys[i]!.startsWith(prefix); i++) {
      const obj = this.get(this.keys[i]!)!;
      if (!match(obj)) continue;
      items.push(obj);
      if (limit !== undefined && items.length === limit) {
        const next = this.keys[i + 1];
        return { items, more: next?.startsWith(prefix) ? this.keys[i] : undefined };
      }
    }
    return { items };
  }

  /**
   * A watch of the keys under `prefix` that match: with `after` undefined, the current objects as ADDED
   * events and then every change; with `after`, the changes after that revision. Undefined when the
   * changes since `after` are no longer all here, or `after` is not above the datastore's compacted
   * revision: that watch is the datastore's to answer (with 410 Gone), as without a cache.
   */
  watch(prefix: string, match: (o: KObject) => boolean, after?: number, compacted = 0): CacheWatch | undefined {
    if (this.stopped || (after !== undefined && (after < this.oldest || after < compacted))) return undefined;
    const w = new CacheWatch(prefix, match, after ?? this.revision, (closed) => this.watches.delete(closed));
    if (after === undefined) w.begin(this.list(prefix, match).items.map((object) => ({ type: 'ADDED', object })));
    else w.deliver(this.history);
    this.watches.add(w);
    return w;
  }

  /**
   * Catches up to `revision`, a revision the store has reached. For a store that hands every event to
   * its watchers before it counts the event's revision (the log stores), the events up to it are
   * queued for this cache by then and applied within one turn of the event loop, and a revision that
   * brought none of them changed nothing here. False when that cannot be told.
   */
  async catchUp(revision: number, storeRevision: () => number): Promise<boolean> {
    if (this.revision >= revision) return true;
    await new Promise((resolve) => setImmediate(resolve));
    if (this.stopped || storeRevision() < revision) return this.revision >= revision;
    this.revision = Math.max(this.revision, revision);
    return true;
  }
}
