// Kubernetes object semantics over the datastore, for any registered kind: create, read, list,
// update (optimistic concurrency), guaranteed update for patches, and the start of deletion.
import type { Store } from '../../store/index.js';
import { ApiError, alreadyExists, conflict, invalid, notFound, type FieldError } from '../../k8s/errors.js';
import { prepareForCreate, prepareForUpdate, unchangedBy } from '../metadata.js';
import { apiVersionOf, type KObject, type StoredObject } from '../../k8s/object.js';
import type { ResourceDef } from '../registry/types.js';
import { decode, decodeFrom, encode, encodeFor, keyFor } from './codec.js';
import { IDENTITY, type StorageTransformers, type ValueTransformer } from './transformer.js';
import { watchObjects, type ObjectWatch, type WatchQuery } from './watch.js';
import { deletionFinished } from './pending-deletion.js';
import { MODIFIED, retryOnModified, toApiError } from './errors.js';
import { objectFilter, type ListQuery } from './filter.js';
import { cacherFor, type CachedResource, type Cacher } from './cacher.js';
import { cachedList, type ListResult } from './cached-list.js';

export interface WriteContext {
  dryRun?: boolean;
  now?: Date;
  /** Who writes, for managedFields; `applied` when server-side apply already recorded it. */
  manager?: string;
  subresource?: string;
  applied?: boolean;
  /** Who asks, for admission that depends on the requester (RBAC escalation, NodeRestriction); unset for the server's own writes. */
  user?: { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> };
  /** Warnings for the client (admission adds to them; the response carries them as Warning headers). */
  warnings?: string[];
}

/** Kind-specific steps around a write (allocations, cross-object checks), kept out of this file. */
export interface Admission {
  /** After defaulting and before validation; may change the object or throw an ApiError. */
  admit?(def: ResourceDef, obj: KObject, old: StoredObject | undefined, ctx: WriteContext): Promise<void>;
  /** After validation passed (upstream's validating admission): may only refuse, with an ApiError. */
  validate?(def: ResourceDef, obj: KObject, old: StoredObject | undefined, ctx: WriteContext): Promise<void>;
  /** The admitted write was stored. */
  stored?(def: ResourceDef, obj: KObject, old: StoredObject | undefined): Promise<void>;
  /** The admitted write did not happen (invalid, dry run, conflict): undo what admit reserved. */
  abandoned?(def: ResourceDef, obj: KObject, old: StoredObject | undefined): Promise<void>;
  /** After an object is gone from the datastore. */
  released?(def: ResourceDef, obj: StoredObject): Promise<void>;
}

export type { ListResult } from './cached-list.js';

/** What code that only looks objects up (admission plugins) may use. */
export type ObjectReader = Pick<ObjectStore, 'get' | 'tryGet' | 'list'>;

const resourceName = (def: ResourceDef) => ({ group: def.group, resource: def.plural });
const cached = (def: ResourceDef): CachedResource => ({ group: def.group, plural: def.plural, prefix: keyFor(def, undefined) });
const NAMESPACES: CachedResource = { group: '', plural: 'namespaces', prefix: '/registry/namespaces/' };

function validationFailed(def: ResourceDef, obj: KObject, errors: FieldError[]): ApiError {
  return invalid(def.kind, def.group, obj.metadata?.name ?? '', errors);
}

const LEASE_REUSE_MS = 60_000;

export class ObjectStore {
  private readonly leases = new Map<number, { id: number; at: number }>();
  /** Reads are served from the watch cache, shared by every ObjectStore over the same datastore. */
  private readonly cacher: Cacher;

  constructor(
    readonly store: Store,
    private readonly admission: Admission = {},
    /** Encryption at rest by resource; plaintext JSON without it. */
    readonly transformers: StorageTransformers = IDENTITY,
  ) {
    this.cacher = cacherFor(store, transformers);
  }

  private transformer(def: ResourceDef): ValueTransformer {
    return this.transformers.forResource(def.group, def.plural);
  }

  /**
   * Watches objects of a kind, from the watch cache; from a resourceVersion older than the cache
   * holds, from the datastore (which answers 410 Gone once it is compacted away).
   */
  async watch(def: ResourceDef, namespace: string | undefined, q: WatchQuery): Promise<ObjectWatch> {
    const match = objectFilter(def, q);
    const rv = q.resourceVersion;
    try {
      const cache = rv
        ? await this.cacher.resource(cached(def))
        : ((await this.cacher.fresh(cached(def))) ?? (await this.cacher.resource(cached(def))));
      const watch = cache.watch(keyFor(def, namespace), match, rv && rv !== '0' ? Number(rv) : undefined, this.store.compactRevision());
      if (watch) return watch;
    } catch (err) {
      throw toApiError(err, resourceName(def), '');
    }
    return watchObjects(this.store, def, namespace, q, this.transformers);
  }

  currentResourceVersion(): string {
    return String(this.store.currentRevision());
  }

  /**
   * The most recent state of an object, from the watch cache once it caught up with the datastore:
   * the cache's own read-only object, shared with every other reader (its JSON made once).
   */
  async tryGetShared(def: ResourceDef, namespace: string | undefined, name: string): Promise<StoredObject | undefined> {
    const key = keyFor(def, namespace, name);
    const cache = await this.cacher.fresh(cached(def));
    if (cache) return cache.get(key);
    const kv = await this.store.get(key);
    return kv && decodeFrom(this.transformer(def), kv);
  }

  async getShared(def: ResourceDef, namespace: string | undefined, name: string): Promise<StoredObject> {
    const obj = await this.tryGetShared(def, namespace, name);
    if (!obj) throw notFound(resourceName(def), name);
    return obj;
  }

  /** As tryGetShared, the caller's own copy to change. */
  async tryGet(def: ResourceDef, namespace: string | undefined, name: string): Promise<StoredObject | undefined> {
    const obj = await this.tryGetShared(def, namespace, name);
    return obj && structuredClone(obj);
  }

  async get(def: ResourceDef, namespace: string | undefined, name: string): Promise<StoredObject> {
    return structuredClone(await this.getShared(def, namespace, name));
  }

  /**
   * A list by Kubernetes' resourceVersion rules, from the watch cache where they allow
   * (cached-list.ts): its read-only objects, and the same array for the same list.
   */
  async listShared(def: ResourceDef, namespace: string | undefined, q: ListQuery = {}): Promise<ListResult> {
    try {
      return (
        (await cachedList(this.cacher, cached(def), keyFor(def, namespace), objectFilter(def, q), q)) ??
        (await this.listStored(def, namespace, q))
      );
    } catch (err) {
      throw toApiError(err, resourceName(def), '');
    }
  }

  /** As listShared, the caller's own copies to change. */
  async list(def: ResourceDef, namespace: string | undefined, q: ListQuery = {}): Promise<ListResult> {
    const result = await this.listShared(def, namespace, q);
    return { ...result, items: result.items.map((o) => structuredClone(o)) };
  }

  /** A list read from the datastore (an exact resourceVersion, a page of an older list). */
  private async listStored(def: ResourceDef, namespace: string | undefined, q: ListQuery): Promise<ListResult> {
    const match = objectFilter(def, q);
    const items: StoredObject[] = [];
    let token = q.continue;
    let revision = q.resourceVersionMatch === 'Exact' && q.resourceVersion ? Number(q.resourceVersion) : undefined;
    let readAt = 0;
    // With a selector, keep reading pages until `limit` objects matched, as Kubernetes does.
    for (;;) {
      const page = await this.store.list(keyFor(def, namespace), { limit: q.limit, continue: token, revision });
      readAt = page.revision;
      revision = page.revision;
      for (const kv of page.items) {
        const obj = decodeFrom(this.transformer(def), kv);
        if (match(obj)) items.push(obj);
      }
      token = page.continue;
      if (!token || !q.limit || items.length >= q.limit) break;
    }
    return { items, resourceVersion: String(readAt), continue: token };
  }

  private async checkNamespace(def: ResourceDef, namespace: string | undefined): Promise<void> {
    if (!def.namespaced || namespace === undefined) return;
    const cache = await this.cacher.fresh(NAMESPACES);
    const key = `${NAMESPACES.prefix}${namespace}`;
    const kv = cache ? undefined : await this.store.get(key);
    const ns = (cache ? cache.get(key) : kv && decodeFrom(this.transformers.forResource('', 'namespaces'), kv)) as
      | (KObject & { status?: { phase?: string } })
      | undefined;
    if (!ns) throw notFound({ group: '', resource: 'namespaces' }, namespace);
    if (ns.status?.phase === 'Terminating' || ns.metadata?.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `${def.plural}${def.group ? `.${def.group}` : ''} "${ns.metadata?.name}" is forbidden: ` +
          `unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
        },
      );
    }
  }

  /** Defaults, mutating admission, validation and validating admission: what every write goes through before it is stored. */
  private async admit(def: ResourceDef, obj: KObject, old: StoredObject | undefined, ctx: WriteContext): Promise<void> {
    obj.apiVersion = apiVersionOf(def.group, def.version);
    obj.kind = def.kind;
    def.defaults?.(obj);
    await this.admission.admit?.(def, obj, old, ctx);
    const errors = def.validate?.(obj, old) ?? [];
    if (errors.length > 0) {
      await this.admission.abandoned?.(def, obj, old);
      throw validationFailed(def, obj, errors);
    }
    try {
      await this.admission.validate?.(def, obj, old, ctx);
    } catch (err) {
      await this.admission.abandoned?.(def, obj, old);
      throw err;
    }
  }

  /** Runs an admitted write, telling admission whether it happened. */
  private async commit<T>(
    def: ResourceDef,
    obj: KObject,
    old: StoredObject | undefined,
    ctx: WriteContext,
    write: () => Promise<T>,
  ): Promise<T> {
    let result: T;
    try {
      result = await write();
    } catch (err) {
      await this.admission.abandoned?.(def, obj, old);
      throw toApiError(err, resourceName(def), obj.metadata?.name ?? '');
    }
    await (ctx.dryRun ? this.admission.abandoned : this.admission.stored)?.(def, obj, old);
    return result;
  }

  async create(def: ResourceDef, namespace: string | undefined, input: KObject, ctx: WriteContext = {}): Promise<StoredObject> {
    const obj: KObject = structuredClone(input);
    obj.metadata ??= {};
    if (def.namespaced) obj.metadata.namespace = namespace;
    else delete obj.metadata.namespace;
    prepareForCreate(obj, ctx.now);
    await this.checkNamespace(def, namespace);
    await this.admit(def, obj, undefined, ctx);
    const name = obj.metadata.name!;
    return this.commit(def, obj, undefined, ctx, async () => {
      if (ctx.dryRun) {
        if (await this.tryGet(def, namespace, name)) throw alreadyExists(resourceName(def), name);
        return { ...obj, metadata: { ...obj.metadata } } as StoredObject;
      }
      const key = keyFor(def, namespace, name);
      const { revision } = await this.store.create(key, encodeFor(this.transformer(def), key, obj), await this.expiry(def));
      return decode({ value: encode(obj), modRevision: revision });
    });
  }

  /**
   * Replaces an object. `next.metadata.resourceVersion`, when given, must match the stored one;
   * without it the update is unconditional and applies to the latest object, however often another
   * writer gets there first. An object that is being deleted and has no finalizers left is removed.
   */
  async update(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    next: KObject,
    ctx: WriteContext & { toStatus?: boolean } = {},
  ): Promise<StoredObject> {
    const attempt = async () => this.updateOver(def, await this.get(def, namespace, name), next, ctx);
    return next.metadata?.resourceVersion ? attempt() : retryOnModified(attempt);
  }

  /** Reads, applies `change`, writes; on a concurrent write, reads again and retries. */
  async guaranteedUpdate(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    change: (current: StoredObject) => Promise<KObject> | KObject,
    ctx: WriteContext & { toStatus?: boolean } = {},
  ): Promise<StoredObject> {
    return retryOnModified(async () => {
      const current = await this.get(def, namespace, name);
      const next = await change(structuredClone(current));
      next.metadata = { ...next.metadata, resourceVersion: current.metadata.resourceVersion };
      return this.updateOver(def, current, next, ctx);
    });
  }

  /** One attempt at writing `next` over `old`, as read; a writer in between makes it a StaleWriteError. */
  private async updateOver(
    def: ResourceDef,
    old: StoredObject,
    next: KObject,
    ctx: WriteContext & { toStatus?: boolean },
  ): Promise<StoredObject> {
    const { name, namespace } = old.metadata;
    const wanted = next.metadata?.resourceVersion;
    if (wanted && wanted !== old.metadata.resourceVersion) throw conflict(resourceName(def), name, MODIFIED);
    const obj = prepareForUpdate(old, structuredClone(next), { statusSubresource: !!def.statusSubresource, toStatus: !!ctx.toStatus });
    await this.admit(def, obj, old, ctx);
    const key = keyFor(def, namespace, name);
    const expected = Number(old.metadata.resourceVersion);
    const finished = deletionFinished(def, obj);
    const stored = await this.commit(def, obj, old, ctx, async () => {
      if (ctx.dryRun) return { ...obj, metadata: { ...obj.metadata, resourceVersion: old.metadata.resourceVersion } } as StoredObject;
      if (!finished && unchangedBy(old, obj)) return old;
      // The last finalizer of an object being deleted is gone: the object goes.
      const { revision } = finished
        ? await this.store.delete(key, expected)
        : await this.store.update(key, encodeFor(this.transformer(def), key, obj), expected, await this.expiry(def));
      return decode({ value: encode(obj), modRevision: revision });
    });
    if (finished && !ctx.dryRun) await this.admission.released?.(def, stored);
    return stored;
  }

  /**
   * The lease an expiring kind's write is attached to. Writes share a lease for up to a minute (a
   * sixtieth of the TTL, so they expire at most that late) rather than each granting one, as
   * kube-apiserver's lease reuse does.
   */
  private async expiry(def: ResourceDef): Promise<{ lease?: number }> {
    if (!def.ttlSeconds) return {};
    const now = Date.now();
    const reuseMs = Math.min(LEASE_REUSE_MS, (def.ttlSeconds * 1000) / 60);
    const cached = this.leases.get(def.ttlSeconds);
    if (cached && now - cached.at < reuseMs) return { lease: cached.id };
    const id = await this.store.grantLease(Math.ceil(def.ttlSeconds + reuseMs / 1000));
    this.leases.set(def.ttlSeconds, { id, at: now });
    return { lease: id };
  }

  /** Stores `obj` over `current` as it is: for server-side state changes such as marking deletion. */
  async replaceAsIs(def: ResourceDef, current: StoredObject, obj: KObject): Promise<StoredObject> {
    const name = current.metadata.name;
    try {
      const key = keyFor(def, current.metadata.namespace, name);
      const { revision } = await this.store.update(
        key,
        encodeFor(this.transformer(def), key, obj),
        Number(current.metadata.resourceVersion),
      );
      return decode({ value: encode(obj), modRevision: revision });
    } catch (err) {
      throw toApiError(err, resourceName(def), name);
    }
  }

  /** Removes an object from the datastore now (deletion policy is decided by the caller). */
  async remove(def: ResourceDef, current: StoredObject): Promise<StoredObject> {
    const name = current.metadata.name;
    try {
      const { revision } = await this.store.delete(keyFor(def, current.metadata.namespace, name), Number(current.metadata.resourceVersion));
      await this.admission.released?.(def, current);
      return { ...current, metadata: { ...current.metadata, resourceVersion: String(revision) } };
    } catch (err) {
      throw toApiError(err, resourceName(def), name);
    }
  }
}
