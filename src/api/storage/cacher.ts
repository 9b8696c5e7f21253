// The API server's watch cache (upstream's cacher): one ResourceCache per resource, built on its
// first read and kept by following the datastore. ObjectStore serves lists, gets and watches from it
// by resourceVersion: "0" as the cache is; unset (the most recent) after the cache caught up with the
// store's newest revision, so that a read sees every write acknowledged before it, by any server.
import { KineStore } from '../../store/kine.js';
import { LogStore } from '../../store/log-store.js';
import type { Store } from '../../store/index.js';
import { decodeFrom } from './codec.js';
import { ResourceCache } from './resource-cache.js';
import type { StorageTransformers } from './transformer.js';

export interface CachedResource {
  group: string;
  plural: string;
  /** The datastore prefix of every object of the resource. */
  prefix: string;
}

export class Cacher {
  private readonly caches = new Map<string, Promise<ResourceCache>>();
  /**
   * The log stores count a revision only once its events are with their watchers; etcd's
   * currentRevision() may run ahead of its watch, so there a consistent read goes to etcd itself.
   */
  private readonly canCatchUp: boolean;

  constructor(
    private readonly store: Store,
    private readonly transformers: StorageTransformers,
  ) {
    this.canCatchUp = store instanceof LogStore;
  }

  /** The resource's cache as it is. */
  resource(r: CachedResource): Promise<ResourceCache> {
    let cache = this.caches.get(r.prefix);
    if (!cache) {
      // Looked up at each decode: a key rotation takes effect on the following writes.
      const decode = (kv: Parameters<typeof decodeFrom>[1]) => decodeFrom(this.transformers.forResource(r.group, r.plural), kv);
      const started = ResourceCache.start(this.store, r.prefix, decode, () => {
        if (this.caches.get(r.prefix) === started) this.caches.delete(r.prefix);
      });
      cache = started;
      this.caches.set(r.prefix, started);
      started.catch(() => this.caches.delete(r.prefix));
    }
    return cache;
  }

  /** The resource's cache holding every write acknowledged before this call; undefined when that cannot be made sure of. */
  async fresh(r: CachedResource): Promise<ResourceCache | undefined> {
    const cache = await this.resource(r);
    if (!this.canCatchUp) return undefined;
    // A read of a key that is never written (the prefix itself): a shared store first follows its log
    // up to the newest commit, so the revision it then counts is at least the one of every write
    // acknowledged so far. SQLite has one writer, this process: its count is always the newest.
    if (!(this.store instanceof KineStore)) await this.store.get(r.prefix);
    return (await cache.catchUp(this.store.currentRevision(), () => this.store.currentRevision())) ? cache : undefined;
  }
}

const cachers = new WeakMap<Store, WeakMap<StorageTransformers, Cacher>>();

/** One cache per datastore (and encryption config), shared by the ObjectStores over it. */
export function cacherFor(store: Store, transformers: StorageTransformers): Cacher {
  let byTransformers = cachers.get(store);
  if (!byTransformers) cachers.set(store, (byTransformers = new WeakMap()));
  let cacher = byTransformers.get(transformers);
  if (!cacher) byTransformers.set(transformers, (cacher = new Cacher(store, transformers)));
  return cacher;
}
