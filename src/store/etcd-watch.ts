// One etcd watch that outlives its connection. It keeps the revision it needs next (one past the last
// event delivered, or past a progress notification, which etcd sends only once every event before it
// is out); when the stream breaks (a member died, a connection dropped) it watches again from there,
// on whichever member the client picks, so nothing is lost or repeated. etcd3's own Watcher resumes
// from the last response header's revision instead, which runs ahead of the events while etcd is
// still replaying history, and so can skip some.
import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse, WatchClient } from 'etcd3';
import { CompactedError, StoreClosedError, StoreError } from './errors.js';
import type { KeyRange } from './etcd-kv.js';
import { EMPTY } from './log-rows.js';

export interface WatchSink {
  /** Events of one or more whole revisions, in order; each is delivered once. */
  events(events: IEvent[]): void;
  /** A revision etcd has reached (from any response's header). */
  revision(revision: number): void;
  /** The watch cannot go on (its start was compacted, or etcd refused it) and has stopped. */
  failed(err: Error): void;
}

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;
/** etcd's answer to a progress request on the stream, for no watch in particular. */
const STREAM_PROGRESS = '-1';

export class EtcdWatch {
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private stopped = false;
  private retryMs = RETRY_MIN_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: WatchClient,
    private readonly range: KeyRange & { prevKv: boolean },
    /** The revision of the first event wanted. */
    private next: number,
    private readonly sink: WatchSink,
  ) {
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.client.watch();
    } catch {
      return this.retry();
    }
    if (this.stopped) return stream.cancel();
    this.stream = stream;
    // Only the current stream is listened to: a broken one may still say something as it goes.
    stream.on('data', (res) => {
      if (this.stream === stream) this.receive(res);
    });
    stream.on('error', () => this.lost(stream));
    stream.on('end', () => this.lost(stream));
    const { key, range_end, prevKv } = this.range;
    stream.write({ create_request: { key, range_end, start_revision: this.next, prev_kv: prevKv, progress_notify: true } });
  }

  private receive(res: IWatchResponse): void {
    const revision = Number(res.header.revision);
    if (revision > 0) this.sink.revision(revision);
    if (res.canceled) {
      const compacted = Number(res.compact_revision);
      this.fail(compacted > 0 ? new CompactedError(this.next, compacted) : new StoreError(`etcd ended the watch: ${res.cancel_reason}`));
      return;
    }
    if (res.created) {
      this.retryMs = RETRY_MIN_MS;
      return;
    }
    if (res.watch_id === STREAM_PROGRESS) return;
    if (res.events.length === 0) {
      // A progress notification: every event of this watch up to `revision` has been sent.
      this.next = Math.max(this.next, revision + 1);
      return;
    }
    const events = res.events.filter((e) => Number(e.kv.mod_revision) >= this.next);
    if (events.length === 0) return;
    this.next = Number(events[events.length - 1]!.kv.mod_revision) + 1;
    this.sink.events(events);
  }

  private lost(stream: IDuplexStream<IWatchRequest, IWatchResponse>): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    stream.cancel();
    if (!this.stopped) this.retry();
  }

  private retry(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private fail(err: Error): void {
    this.close();
    this.sink.failed(err);
  }

  /** Asks etcd for its current revision, which comes back through `revision`. */
  requestProgress(): void {
    this.stream?.write({ progress_request: {} });
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
  }
}

/**
 * etcd's compact revision, when it is known to be above `revision` (a read there was refused): a
 * watch from `revision`, which etcd cancels, naming its compact revision.
 */
export function compactRevisionAbove(client: WatchClient, revision: number, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      watch.close();
      reject(new StoreClosedError());
    };
    const watch = new EtcdWatch(client, { key: Buffer.from([0]), range_end: EMPTY, prevKv: false }, revision, {
      events: () => undefined,
      revision: () => undefined,
      failed: (err) => {
        signal.removeEventListener('abort', stop);
        if (err instanceof CompactedError) resolve(err.compactRevision);
        else reject(err);
      },
    });
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}
