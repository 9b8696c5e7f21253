// One SPDY stream as a Node duplex: writes become DATA frames, end() a DATA frame with FIN
// (a half-close: the other side may go on writing), the peer's DATA arrives as readable data and
// its FIN as the end of it. The connection (connection.ts) owns the socket and the framing.
import { Duplex } from 'node:stream';
import type { SpdyHeaders } from './header-block.js';

/** What a stream needs of its connection. */
export interface StreamOwner {
  sendData(id: number, data: Buffer, fin: boolean, done: (err?: Error | null) => void): void;
  reset(id: number): void;
  /** A stream's reader wants more: the connection may read its socket again. */
  wantMore(): void;
  forget(id: number): void;
}

export class SpdyStream extends Duplex {
  /** The peer's SYN_REPLY headers, once it accepted the stream. */
  readonly reply: Promise<SpdyHeaders>;
  private settleReply!: { resolve(h: SpdyHeaders): void; reject(e: Error): void };
  private remoteEnded = false;
  private localEnded = false;

  constructor(
    readonly id: number,
    readonly headers: SpdyHeaders,
    private readonly owner: StreamOwner,
  ) {
    super({ allowHalfOpen: true });
    this.reply = new Promise((resolve, reject) => (this.settleReply = { resolve, reject }));
    // Nobody need await the reply; a refused stream also ends and emits 'reset'.
    this.reply.catch(() => {});
  }

  /** Called by the connection: the peer accepted the stream. */
  onReply(headers: SpdyHeaders): void {
    this.settleReply.resolve(headers);
  }

  /** Called by the connection: a DATA frame for this stream. Returns false when the reader is full. */
  onData(data: Buffer, fin: boolean): boolean {
    if (this.remoteEnded) return true;
    const more = data.length ? this.push(data) : true;
    if (fin) this.onRemoteEnd();
    return more;
  }

  /**
   * Called by the connection: the peer will send no more (FIN), or the stream is over (`reason`:
   * the peer reset it or the connection is gone). Data already received can still be read; writes
   * after a reset are dropped, since nobody will read them.
   */
  onRemoteEnd(reason?: Error): void {
    if (!this.remoteEnded) {
      this.remoteEnded = true;
      this.push(null);
    }
    if (reason) {
      this.settleReply.reject(reason);
      this.localEnded = true;
      this.emit('reset', reason);
    }
    this.maybeForget();
  }

  override _read(): void {
    this.owner.wantMore();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.localEnded) {
      done();
      return;
    }
    this.owner.sendData(this.id, chunk, false, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.localEnded) {
      done();
      return;
    }
    this.localEnded = true;
    this.owner.sendData(this.id, Buffer.alloc(0), true, (err) => {
      this.maybeForget();
      done(err);
    });
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // Destroyed before both sides finished: tell the peer to drop the stream.
    if (!(this.localEnded && this.remoteEnded)) this.owner.reset(this.id);
    this.localEnded = this.remoteEnded = true;
    this.settleReply.reject(err ?? new Error(`SPDY stream ${this.id} was closed`));
    this.owner.forget(this.id);
    done(err);
  }

  private maybeForget(): void {
    if (this.localEnded && this.remoteEnded) this.owner.forget(this.id);
  }
}
