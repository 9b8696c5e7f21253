// An informer: lists a resource, then watches it from the list's resourceVersion, keeping an
// in-memory cache and telling handlers what was added, updated and deleted. When the watch ends it
// resumes from the last revision seen; when that revision is gone (410) it lists again and reports
// the difference, so handlers never miss a change. Cached objects are shared: copy before editing.
import { log } from '../log.js';
import { isGone } from '../k8s/errors.js';
import type { ResourceClient } from './rest-client.js';
import { sleep } from './sleep.js';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(old: T, obj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch length before it is renewed. */
  watchTimeoutSeconds?: number;
  /** Applied to every object before it is cached and handed to handlers (e.g. to drop what nobody reads). */
  transform?: <O>(obj: O) => O;
}

type Obj = { metadata?: { name?: string; namespace?: string; resourceVersion?: string } };

export const keyOf = (obj: Obj): string =>
  obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata!.name!;

export function splitKey(key: string): [namespace: string | undefined, name: string] {
  const i = key.indexOf('/');
  return i < 0 ? [undefined, key] : [key.slice(0, i), key.slice(i + 1)];
}

export class Informer<T extends Obj> {
  private readonly cache = new Map<string, T>();
  /** Secondary indexes: name -> indexed value -> keys; `namespace` is always there. */
  private readonly indexes = new Map<string, { values: (obj: T) => string[]; entries: Map<string, Set<string>> }>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly abort = new AbortController();
  private syncedResolve!: () => void;
  private readonly syncedPromise = new Promise<void>((resolve) => (this.syncedResolve = resolve));
  private running = false;
  private lastResourceVersion = '';

  constructor(
    readonly client: ResourceClient<T>,
    private readonly opts: InformerOptions = {},
  ) {
    this.addIndex('namespace', (o) => (o.metadata?.namespace ? [o.metadata.namespace] : []));
  }

  on(handlers: InformerHandlers<T>): this {
    this.handlers.push(handlers);
    for (const obj of this.cache.values()) handlers.add?.(obj);
    return this;
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): T[] {
    return namespace === undefined ? [...this.cache.values()] : this.byIndex('namespace', namespace);
  }

  /** Keeps an index of the cache by the values `values` gives each object (e.g. its owner's uid). */
  addIndex(name: string, values: (obj: T) => string[]): this {
    if (this.indexes.has(name)) return this;
    const entries = new Map<string, Set<string>>();
    this.indexes.set(name, { values, entries });
    for (const [key, obj] of this.cache) for (const v of values(obj)) addTo(entries, v, key);
    return this;
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.indexes.get(name)?.entries.get(value);
    return keys ? [...keys].map((k) => this.cache.get(k)!) : [];
  }

  /** Caches (or with undefined, drops) an object; answers the object as cached. */
  private store(key: string, obj: T | undefined): T | undefined {
    if (obj && this.opts.transform) obj = this.opts.transform(obj);
    const old = this.cache.get(key);
    for (const { values, entries } of this.indexes.values()) {
      if (old) for (const v of values(old)) entries.get(v)?.delete(key);
      if (obj) for (const v of values(obj)) addTo(entries, v, key);
    }
    if (obj) this.cache.set(key, obj);
    else this.cache.delete(key);
    return obj;
  }

  /** Resolves once the first list is in the cache (or the informer is stopped before that). */
  synced(): Promise<void> {
    return this.syncedPromise;
  }

  /** The resourceVersion the cache reflects. */
  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  start(): this {
    if (!this.running) {
      this.running = true;
      void this.run();
    }
    return this;
  }

  /** Stops watching; whoever waits for the first sync stops waiting too. */
  stop(): void {
    this.abort.abort();
    this.syncedResolve();
  }

  private emit(kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        if (kind === 'add') h.add?.(obj);
        else if (kind === 'update') h.update?.(old!, obj);
        else h.delete?.(obj);
      } catch (err) {
        log.error({ err, resource: this.client.type.resource }, 'informer handler failed');
      }
    }
  }

  private async relist(): Promise<void> {
    const { namespace, labelSelector, fieldSelector } = this.opts;
    const list = await this.client.list(namespace, { labelSelector, fieldSelector });
    const seen = new Set<string>();
    for (const obj of list.items) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.cache.get(key);
      const cached = this.store(key, obj)!;
      if (!old) this.emit('add', cached);
      else if (old.metadata?.resourceVersion !== cached.metadata?.resourceVersion) this.emit('update', cached, old);
    }
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.store(key, undefined);
        this.emit('delete', old);
      }
    }
    this.lastResourceVersion = list.metadata.resourceVersion ?? '';
    this.syncedResolve();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let needList = true;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (needList) await this.relist();
        needList = false;
        const { namespace, labelSelector, fieldSelector } = this.opts;
        const events = this.client.watch(namespace, {
          labelSelector,
          fieldSelector,
          resourceVersion: this.lastResourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
          signal,
        });
        for await (const e of events) {
          failures = 0;
          this.lastResourceVersion = e.object.metadata?.resourceVersion ?? this.lastResourceVersion;
          if (e.type === 'BOOKMARK') continue;
          const key = keyOf(e.object);
          const old = this.cache.get(key);
          if (e.type === 'DELETED') {
            this.store(key, undefined);
            this.emit('delete', e.object);
          } else {
            const cached = this.store(key, e.object)!;
            if (old) this.emit('update', cached, old);
            else this.emit('add', cached);
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        if (isGone(err)) needList = true;
        else {
          failures++;
          needList = true;
          log.warn({ err: (err as Error).message, resource: this.client.type.resource }, 'informer: list/watch failed, retrying');
          await sleep(Math.min(200 * 2 ** failures, 10_000), signal);
        }
      }
    }
  }
}

function addTo(entries: Map<string, Set<string>>, value: string, key: string): void {
  let keys = entries.get(value);
  if (!keys) entries.set(value, (keys = new Set()));
  keys.add(key);
}
