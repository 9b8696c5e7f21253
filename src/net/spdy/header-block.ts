// SPDY/3 name/value header blocks: a 32-bit count, then per header a 32-bit length and the
// lowercased name, a 32-bit length and the values joined by NUL. Each direction of a connection
// deflates all its blocks as one zlib stream (the SPDY/3 dictionary preset, a sync flush after
// every block), so the compressor and decompressor live as long as the connection.
// pako rather than node:zlib: its streaming deflate/inflate is synchronous, so a block is
// (de)compressed in the order its frame is written or read, with no async queue to keep in order.
import { Deflate, Inflate, Z_SYNC_FLUSH } from 'pako';
import { SPDY3_DICTIONARY } from './dictionary.js';

/** Header names (lowercase) to their values, in the order they were added. */
export type SpdyHeaders = Record<string, string[]>;

export class SpdyProtocolError extends Error {}

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers).filter(([, values]) => values.length > 0);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  let at = 0;
  const need = (n: number) => {
    if (at + n > block.length) throw new SpdyProtocolError('truncated SPDY header block');
  };
  const readString = () => {
    need(4);
    const len = block.readUInt32BE(at);
    at += 4;
    need(len);
    const s = block.toString('utf8', at, at + len);
    at += len;
    return s;
  };
  need(4);
  const count = block.readUInt32BE(at);
  at += 4;
  const headers: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = readString().toLowerCase();
    (headers[name] ??= []).push(...readString().split('\0'));
  }
  return headers;
}

/** One direction's compression context: each call returns one block, sync-flushed. */
export class HeaderCompressor {
  private readonly deflate = new Deflate({ level: 9, dictionary: SPDY3_DICTIONARY });
  private out: Uint8Array[] = [];

  constructor() {
    this.deflate.onData = (chunk) => this.out.push(chunk);
  }

  compress(headers: SpdyHeaders): Buffer {
    this.out = [];
    this.deflate.push(encodeHeaderBlock(headers), Z_SYNC_FLUSH);
    if (this.deflate.err) throw new SpdyProtocolError(`cannot compress SPDY headers: ${this.deflate.msg}`);
    return Buffer.concat(this.out);
  }
}

/** The other direction's context: blocks must be given in the order they arrived. */
export class HeaderDecompressor {
  private readonly inflate = new Inflate({ dictionary: SPDY3_DICTIONARY });
  private out: Uint8Array[] = [];

  constructor() {
    this.inflate.onData = (chunk) => this.out.push(chunk);
  }

  decompress(block: Uint8Array): SpdyHeaders {
    this.out = [];
    this.inflate.push(block, Z_SYNC_FLUSH);
    if (this.inflate.err) throw new SpdyProtocolError(`cannot decompress SPDY headers: ${this.inflate.msg}`);
    return decodeHeaderBlock(Buffer.concat(this.out));
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
