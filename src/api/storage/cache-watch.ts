// One watch served by the watch cache: the events of its namespace and selectors, queued for the
// reader. Every watcher gets the cache's own (shared, already decoded) objects; nothing is copied or
// serialized per watcher here. A reader that lets too many events pile up is ended, as upstream ends
// a watcher that cannot keep up: the client watches again from the last resourceVersion it saw.
import type { KObject, StoredObject } from '../../k8s/object.js';
import { BatchQueue } from '../../store/batch-queue.js';
import { type ApiWatchEvent, type ObjectWatch, selectEvent } from './watch.js';

/** A change as the cache applied it: `object` is the new state, or for a deletion the last one. */
export interface CacheEvent {
  key: string;
  deleted: boolean;
  object: StoredObject;
  prev?: StoredObject;
  revision: number;
}

const QUEUE_LIMIT = 10_000;

export class CacheWatch implements ObjectWatch {
  private readonly batches = new BatchQueue<ApiWatchEvent>();
  private initial: ApiWatchEvent[] | undefined;
  readonly events: AsyncIterable<ApiWatchEvent[]>;

  constructor(
    /** Keys this watch is about (a namespace's, or the whole resource's). */
    private readonly prefix: string,
    private readonly match: (o: KObject) => boolean,
    /** Events up to this revision are already in the initial state (or were asked to be skipped). */
    readonly startRevision: number,
    private readonly onClose: (w: CacheWatch) => void,
  ) {
    this.events = { [Symbol.asyncIterator]: () => this.iterate() };
  }

  /** The initial batch (ADDED events of the current state), yielded even when empty. */
  begin(initial: ApiWatchEvent[]): void {
    this.initial = initial;
  }

  deliver(events: readonly CacheEvent[]): void {
    if (this.batches.ended) return;
    const out: ApiWatchEvent[] = [];
    for (const e of events) {
      if (e.revision <= this.startRevision || !e.key.startsWith(this.prefix)) continue;
      const selected = selectEvent(e.deleted, e.object, e.prev, this.match);
      if (selected) out.push(selected);
    }
    if (out.length === 0) return;
    if (this.batches.overflows(out.length, QUEUE_LIMIT)) {
      this.close();
      return;
    }
    this.batches.push(out);
  }

  close(): void {
    if (this.batches.end()) this.onClose(this);
  }

  private async *iterate(): AsyncIterator<ApiWatchEvent[]> {
    try {
      if (this.initial) yield this.initial;
      this.initial = undefined;
      yield* this.batches.drain();
    } finally {
      this.close();
    }
  }
}
