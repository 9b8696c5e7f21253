// Fan-out of committed events to watchers. Each watcher has its own queue, so a slow reader never
// holds up writers or other watchers; one that falls too far behind is closed with an error.
import { BatchQueue } from './batch-queue.js';
import { WatcherTooSlowError } from './errors.js';
import type { WatchEvent, Watcher } from './types.js';

export class WatchStream implements Watcher {
  private readonly batches = new BatchQueue<WatchEvent>();
  /** While history is still being read, the live events that will follow it. */
  private held: WatchEvent[][] | undefined;

  constructor(
    readonly prefix: string,
    private readonly fromRevision: number,
    private readonly limit: number,
    private readonly onClose: (w: WatchStream) => void,
  ) {}

  push(events: WatchEvent[]): void {
    if (this.batches.ended) return;
    const mine = events.filter((e) => e.kv.modRevision >= this.fromRevision && e.kv.key.startsWith(this.prefix));
    if (mine.length === 0) return;
    if (this.held) {
      this.held.push(mine);
      return;
    }
    if (this.batches.overflows(mine.length, this.limit)) {
      this.finish(new WatcherTooSlowError(this.prefix, this.batches.queued + mine.length));
      return;
    }
    this.enqueue(mine);
  }

  /** History replayed at the start is queued whole: the limit is for live events piling up. */
  enqueue(events: WatchEvent[]): void {
    this.batches.push(events);
  }

  /** Queues history that is still being read, and holds live events back until it is in. */
  replay(backlog: Promise<WatchEvent[]>): void {
    const live: WatchEvent[][] = [];
    this.held = live;
    backlog.then(
      (events) => {
        this.held = undefined;
        if (this.batches.ended) return;
        if (events.length > 0) this.enqueue(events);
        for (const batch of live) this.enqueue(batch);
      },
      (err: Error) => this.finish(err),
    );
  }

  close(): void {
    this.finish();
  }

  finish(error?: Error): void {
    if (this.batches.end(error)) this.onClose(this);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent[]> {
    try {
      yield* this.batches.drain();
    } finally {
      this.close();
    }
  }
}

export class WatchHub {
  private readonly streams = new Set<WatchStream>();

  constructor(private readonly bufferLimit: number) {}

  /**
   * A new stream that first yields `backlog`, then every published event from `fromRevision` on. A
   * backlog still being read (a promise) holds back the live events published meanwhile.
   */
  add(prefix: string, fromRevision: number, backlog: WatchEvent[] | Promise<WatchEvent[]>): Watcher {
    const stream = new WatchStream(prefix, fromRevision, this.bufferLimit, (w) => this.streams.delete(w));
    this.streams.add(stream);
    if (backlog instanceof Promise) stream.replay(backlog);
    else if (backlog.length > 0) stream.enqueue(backlog);
    return stream;
  }

  publish(events: WatchEvent[]): void {
    if (events.length === 0) return;
    for (const stream of this.streams) stream.push(events);
  }

  get size(): number {
    return this.streams.size;
  }

  closeAll(): void {
    for (const stream of [...this.streams]) stream.finish();
  }
}
