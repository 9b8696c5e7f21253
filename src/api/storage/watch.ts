// Watches in Kubernetes' terms: ADDED / MODIFIED / DELETED events of decoded objects, filtered by
// selectors the way Kubernetes does (an object leaving the selection is DELETED for that watcher).
import type { Store, WatchEvent } from '../../store/index.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { ResourceDef } from '../registry/types.js';
import { decodeFrom, keyFor } from './codec.js';
import { IDENTITY, type StorageTransformers, type ValueTransformer } from './transformer.js';
import { toApiError } from './errors.js';
import { objectFilter } from './filter.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface ApiWatchEvent {
  type: WatchEventType;
  object: KObject;
}

export interface WatchQuery {
  labelSelector?: string;
  fieldSelector?: string;
  /** '' or '0': start with the current objects as ADDED events; 'N': events after revision N. */
  resourceVersion?: string;
}

export interface ObjectWatch {
  events: AsyncIterable<ApiWatchEvent[]>;
  /** The revision the watch starts after: events are newer than it. */
  startRevision: number;
  close(): void;
}

// Every watcher of a prefix gets the same datastore event; decoding (and decrypting) it once serves
// them all. The decoded objects are only read (filtered, serialized), never changed.
const decoded = new WeakMap<object, StoredObject>();

function decodeShared(kv: WatchEvent['kv'], transformer: ValueTransformer): StoredObject {
  let obj = decoded.get(kv);
  if (!obj) decoded.set(kv, (obj = decodeFrom(transformer, kv)));
  return obj;
}

/**
 * What one watcher sees of a change: `object` is the new state (for a deletion, the last state with
 * the deletion's resourceVersion), `prev` the state before; leaving the selection is a DELETED event.
 */
export function selectEvent(
  deleted: boolean,
  object: StoredObject,
  prev: StoredObject | undefined,
  match: (o: KObject) => boolean,
): ApiWatchEvent | undefined {
  const prevMatched = prev !== undefined && match(prev);
  if (deleted) return prevMatched ? { type: 'DELETED', object } : undefined;
  if (match(object)) return { type: prevMatched ? 'MODIFIED' : 'ADDED', object };
  return prevMatched ? { type: 'DELETED', object } : undefined;
}

function convert(e: WatchEvent, match: (o: KObject) => boolean, transformer: ValueTransformer): ApiWatchEvent | undefined {
  const prev = e.prev ? decodeShared(e.prev, transformer) : undefined;
  if (e.type === 'delete') {
    if (!prev) return undefined;
    return selectEvent(true, { ...prev, metadata: { ...prev.metadata, resourceVersion: String(e.kv.modRevision) } }, prev, match);
  }
  return selectEvent(false, decodeShared(e.kv, transformer), prev, match);
}

export async function watchObjects(
  store: Store,
  def: ResourceDef,
  namespace: string | undefined,
  q: WatchQuery,
  transformers: StorageTransformers = IDENTITY,
): Promise<ObjectWatch> {
  const match = objectFilter(def, q);
  // Looked up at each use: a key rotation takes effect on open watches too.
  const transformer = () => transformers.forResource(def.group, def.plural);
  const prefix = keyFor(def, namespace);
  const initial: ApiWatchEvent[] = [];
  let from: number;
  let listed = false;
  try {
    if (!q.resourceVersion || q.resourceVersion === '0') {
      const list = await store.list(prefix);
      for (const kv of list.items) {
        const obj = decodeFrom(transformer(), kv);
        if (match(obj)) initial.push({ type: 'ADDED', object: obj });
      }
      from = list.revision + 1;
      listed = true;
    } else {
      from = Number(q.resourceVersion) + 1;
    }
    const watcher = store.watch(prefix, { fromRevision: from });
    async function* events(): AsyncIterable<ApiWatchEvent[]> {
      // Always yield the initial batch, even empty, so callers can tell the initial state is complete.
      if (listed) yield initial;
      for await (const batch of watcher) {
        const t = transformer();
        const out = batch.map((e) => convert(e, match, t)).filter((e): e is ApiWatchEvent => e !== undefined);
        if (out.length > 0) yield out;
      }
    }
    return { events: events(), startRevision: from - 1, close: () => watcher.close() };
  } catch (err) {
    throw toApiError(err, { group: def.group, resource: def.plural }, '');
  }
}
