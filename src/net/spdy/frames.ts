// SPDY/3 framing (draft 3, section 2.2): an 8-byte header, then the payload. Control frames start
// with the control bit, the version (3) and the type; data frames with a 31-bit stream id. Both
// carry 8 bits of flags and a 24-bit length. Header blocks inside SYN_STREAM, SYN_REPLY and HEADERS
// are compressed by the caller (header-block.ts), since their context spans the connection.

export const SPDY_VERSION = 3;
export const MAX_DATA_LENGTH = 0xffffff;
export const FLAG_FIN = 0x01;

export enum FrameType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

/** RST_STREAM status codes (section 2.6.3). */
export enum RstStatus {
  ProtocolError = 1,
  InvalidStream = 2,
  RefusedStream = 3,
  UnsupportedVersion = 4,
  Cancel = 5,
  InternalError = 6,
}

export type Frame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; type: number; version: number; flags: number; payload: Buffer };

function header(first: number, flags: number, length: number): Buffer {
  if (length > MAX_DATA_LENGTH) throw new RangeError(`SPDY frame payload of ${length} bytes is over the 24-bit limit`);
  const h = Buffer.alloc(8);
  h.writeUInt32BE(first >>> 0, 0);
  h.writeUInt32BE(((flags & 0xff) << 24) | length, 4);
  return h;
}

export function encodeData(streamId: number, data: Buffer, fin = false): Buffer {
  return Buffer.concat([header(streamId & 0x7fffffff, fin ? FLAG_FIN : 0, data.length), data]);
}

export function encodeControl(type: FrameType, flags: number, payload: Buffer): Buffer {
  return Buffer.concat([header((0x8000 | SPDY_VERSION) * 0x10000 + type, flags, payload.length), payload]);
}

/** SYN_STREAM: stream id, associated stream id, 3-bit priority, credential slot, header block. */
export function encodeSynStream(streamId: number, compressedHeaders: Buffer, opts: { fin?: boolean; priority?: number } = {}): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt32BE(streamId & 0x7fffffff, 0);
  fixed.writeUInt32BE(0, 4);
  fixed.writeUInt8(((opts.priority ?? 0) & 0x7) << 5, 8);
  return encodeControl(FrameType.SynStream, opts.fin ? FLAG_FIN : 0, Buffer.concat([fixed, compressedHeaders]));
}

export function encodeRstStream(streamId: number, status: RstStatus): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(streamId & 0x7fffffff, 0);
  p.writeUInt32BE(status, 4);
  return encodeControl(FrameType.RstStream, 0, p);
}

export function encodePing(id: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(id >>> 0, 0);
  return encodeControl(FrameType.Ping, 0, p);
}

export function encodeGoAway(lastGoodStreamId: number, status = 0): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(lastGoodStreamId & 0x7fffffff, 0);
  p.writeUInt32BE(status, 4);
  return encodeControl(FrameType.GoAway, 0, p);
}

/** The stream id of a SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS or WINDOW_UPDATE payload. */
export function streamIdOf(payload: Buffer): number {
  return payload.readUInt32BE(0) & 0x7fffffff;
}

/** The header block of a SYN_STREAM (after 10 fixed bytes) or SYN_REPLY/HEADERS (after 4). */
export function headerBlockOf(type: FrameType, payload: Buffer): Buffer {
  return payload.subarray(type === FrameType.SynStream ? 10 : 4);
}

/** Cuts a byte stream into frames, whatever the chunking: a frame may span many chunks, a chunk many frames. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds bytes and returns the frames now complete, in order. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.buffered >= 8) {
      const head = this.peek(8);
      const length = head.readUInt32BE(4) & 0xffffff;
      if (this.buffered < 8 + length) break;
      const bytes = this.take(8 + length);
      const first = bytes.readUInt32BE(0);
      const flags = bytes[4]!;
      const body = bytes.subarray(8);
      if (first & 0x80000000)
        frames.push({ kind: 'control', version: (first >>> 16) & 0x7fff, type: first & 0xffff, flags, payload: body });
      else frames.push({ kind: 'data', streamId: first & 0x7fffffff, flags, data: body });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}
