// A list kept current by its watch, as an informer's store: the list's items, then each event
// applied in order; the resourceVersion to resume the watch from follows every event and bookmark.
import type { KubeObject, WatchEvent } from './watch-stream.js';

export interface KubeList<T> {
  metadata: { resourceVersion?: string };
  items: T[];
}

/** The watch's resourceVersion is too old (410 Gone): list again. */
export class WatchExpired extends Error {}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class LiveList<T extends KubeObject = KubeObject> {
  private readonly byKey = new Map<string, T>();
  resourceVersion = '';

  /** Replaces everything with a fresh list's items. */
  reset(list: KubeList<T>): void {
    this.byKey.clear();
    for (const item of list.items) this.byKey.set(keyOf(item), item);
    this.resourceVersion = list.metadata.resourceVersion ?? '';
  }

  /** Applies one watch event; true when the items changed. */
  apply(event: WatchEvent<T>): boolean {
    const object = event.object;
    if (event.type === 'ERROR') {
      const status = object as unknown as { code?: number; message?: string };
      if (status.code === 410) throw new WatchExpired(status.message ?? 'resource version too old');
      throw new Error(status.message ?? 'watch failed');
    }
    if (object.metadata.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
    if (event.type === 'BOOKMARK') return false;
    if (event.type === 'DELETED') return this.byKey.delete(keyOf(object));
    this.byKey.set(keyOf(object), object);
    return true;
  }

  /** The items by namespace, then name. */
  get items(): T[] {
    return [...this.byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  }
}
