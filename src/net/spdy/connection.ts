// The client end of a SPDY/3 connection over an upgraded socket, as the API server needs it toward
// a node's streaming server (Go's spdystream behind containerd): open streams with headers, move
// their data, answer pings. Go's spdystream does no flow control (it never sends WINDOW_UPDATE),
// so neither do we: backpressure is the socket's (a full reader pauses the socket).
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  encodeData,
  encodeGoAway,
  encodePing,
  encodeRstStream,
  encodeSynStream,
  FLAG_FIN,
  FrameReader,
  FrameType,
  headerBlockOf,
  MAX_DATA_LENGTH,
  RstStatus,
  streamIdOf,
  type Frame,
} from './frames.js';
import { HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from './header-block.js';
import { SpdyStream, type StreamOwner } from './stream.js';

export class SpdyConnection extends EventEmitter implements StreamOwner {
  private nextId = 1; // a client's streams are odd
  private readonly streams = new Map<number, SpdyStream>();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly reader = new FrameReader();
  private paused = false;
  private closed = false;
  /** The peer said GOAWAY: it takes no new streams. */
  goneAway = false;

  /** `initial`: bytes that came with the upgrade response, already SPDY frames. */
  constructor(
    private readonly socket: Duplex,
    initial?: Buffer,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('end', () => this.shutdown());
    socket.on('close', () => this.shutdown());
    socket.on('error', (err: Error) => this.shutdown(err));
    if (initial?.length) this.onBytes(initial);
    socket.resume();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Opens a stream (SYN_STREAM); `stream.reply` settles when the peer accepts or refuses it. */
  openStream(headers: SpdyHeaders): SpdyStream {
    const id = this.nextId;
    this.nextId += 2;
    const stream = new SpdyStream(id, headers, this);
    if (this.closed || this.goneAway) {
      stream.onRemoteEnd(new Error('the SPDY connection is closed'));
      return stream;
    }
    this.streams.set(id, stream);
    this.socket.write(encodeSynStream(id, this.compressor.compress(headers)));
    return stream;
  }

  /** Says goodbye (GOAWAY) and closes the socket; open streams end. */
  close(): void {
    if (this.closed) return;
    this.socket.write(encodeGoAway(0));
    this.socket.end();
    this.shutdown();
  }

  /** Drops the socket at once. */
  destroy(): void {
    this.socket.destroy();
    this.shutdown();
  }

  sendData(id: number, data: Buffer, fin: boolean, done: (err?: Error | null) => void): void {
    if (this.closed) {
      done();
      return;
    }
    // Large writes are cut to the 24-bit frame limit; only the last piece may carry FIN.
    let at = 0;
    do {
      const piece = data.subarray(at, at + MAX_DATA_LENGTH);
      at += piece.length;
      const last = at >= data.length;
      this.socket.write(encodeData(id, piece, fin && last), last ? (err) => done(this.closed ? null : err) : undefined);
    } while (at < data.length);
  }

  reset(id: number): void {
    if (!this.closed) this.socket.write(encodeRstStream(id, RstStatus.Cancel));
    this.forget(id);
  }

  wantMore(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    try {
      for (const frame of this.reader.push(chunk)) {
        if (!this.onFrame(frame) && !this.paused) {
          this.paused = true;
          this.socket.pause();
        }
      }
    } catch (err) {
      // A frame we cannot make sense of leaves the header contexts out of step: nothing after it can be trusted.
      this.socket.destroy();
      this.shutdown(err as Error);
    }
  }

  /** Handles one frame; false when a reader is full and the socket should wait. */
  private onFrame(frame: Frame): boolean {
    if (frame.kind === 'data') return this.streams.get(frame.streamId)?.onData(frame.data, (frame.flags & FLAG_FIN) !== 0) ?? true;
    const { type, payload, flags } = frame;
    const fin = (flags & FLAG_FIN) !== 0;
    switch (type) {
      case FrameType.SynStream: {
        // The peer may not push streams to us; its header block still moves the shared context on.
        this.decompressor.decompress(headerBlockOf(type, payload));
        this.socket.write(encodeRstStream(streamIdOf(payload), RstStatus.RefusedStream));
        return true;
      }
      case FrameType.SynReply:
      case FrameType.Headers: {
        const headers = this.decompressor.decompress(headerBlockOf(type, payload));
        const stream = this.streams.get(streamIdOf(payload));
        if (type === FrameType.SynReply) stream?.onReply(headers);
        if (fin) stream?.onRemoteEnd();
        return true;
      }
      case FrameType.RstStream: {
        const status = payload.readUInt32BE(4);
        this.streams
          .get(streamIdOf(payload))
          ?.onRemoteEnd(new Error(`the peer reset SPDY stream ${streamIdOf(payload)} (status ${status})`));
        return true;
      }
      case FrameType.Ping: {
        // Our own pings would be odd; the peer's (even) are answered with the same id.
        const id = payload.readUInt32BE(0);
        if (id % 2 === 0) this.socket.write(encodePing(id));
        return true;
      }
      case FrameType.GoAway:
        this.goneAway = true;
        this.emit('goaway');
        return true;
      default:
        // SETTINGS and WINDOW_UPDATE: nothing to do without flow control; unknown types are ignored (section 2.2.1).
        return true;
    }
  }

  private shutdown(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const reason = err ?? new Error('the SPDY connection closed');
    for (const stream of [...this.streams.values()]) stream.onRemoteEnd(reason);
    this.streams.clear();
    this.emit('close', err);
  }
}
