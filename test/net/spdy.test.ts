// The SPDY/3 client pieces without a node: the dictionary, header blocks through both compression
// contexts (and against zlib itself), frames cut anywhere, and a connection against a small peer.
import crypto from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import t from 'tap';
import { SpdyConnection } from '../../src/net/spdy/connection.js';
import { SPDY3_DICTIONARY } from '../../src/net/spdy/dictionary.js';
import {
  encodeControl,
  encodeData,
  encodeRstStream,
  encodeSynStream,
  FLAG_FIN,
  FrameReader,
  FrameType,
  headerBlockOf,
  RstStatus,
  streamIdOf,
  type Frame,
} from '../../src/net/spdy/frames.js';
import {
  decodeHeaderBlock,
  encodeHeaderBlock,
  HeaderCompressor,
  HeaderDecompressor,
  type SpdyHeaders,
} from '../../src/net/spdy/header-block.js';

t.test('the SPDY/3 dictionary is the spec one', async (t) => {
  t.equal(SPDY3_DICTIONARY.length, 1423);
  t.equal(
    crypto.createHash('sha256').update(SPDY3_DICTIONARY).digest('hex'),
    '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02',
  );
});

t.test('header blocks', async (t) => {
  const h: SpdyHeaders = { streamtype: ['data'], port: ['8080'], requestid: ['0'], multi: ['a', 'b'] };
  const raw = encodeHeaderBlock(h);
  t.equal(raw.readUInt32BE(0), 4, 'count first');
  t.same(decodeHeaderBlock(raw), h, 'multiple values travel NUL-joined');
  t.same(decodeHeaderBlock(encodeHeaderBlock({ StreamType: ['error'] })), { streamtype: ['error'] }, 'names are lowercase');
  t.throws(() => decodeHeaderBlock(raw.subarray(0, raw.length - 1)), /truncated/);

  // One context per direction: later blocks refer back to earlier ones, so order matters.
  const c = new HeaderCompressor();
  const d = new HeaderDecompressor();
  const blocks = [h, { streamtype: ['stdout'] }, h, { ':status': ['200'], 'x-stream-protocol-version': ['v4.channel.k8s.io'] }].map(
    (x) => [x, c.compress(x)] as const,
  );
  t.ok(blocks[2]![1].length < blocks[0]![1].length, 'a repeated block compresses better the second time');
  for (const [x, block] of blocks) t.same(d.decompress(block), x);

  // Interop with zlib itself (what Go's compress/zlib is): all blocks inflate as one sync-flushed stream.
  const all = Buffer.concat(blocks.map(([, b]) => b));
  const inflated = zlib.inflateSync(all, { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  t.same(inflated, Buffer.concat(blocks.map(([x]) => encodeHeaderBlock(x))), 'zlib reads our blocks');
  const deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  const theirs: Buffer[] = [];
  for (const x of [h, { streamtype: ['stderr'] }]) {
    const out: Buffer[] = [];
    const onData = (b: Buffer) => out.push(b);
    deflate.on('data', onData);
    deflate.write(encodeHeaderBlock(x));
    await new Promise<void>((resolve) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    deflate.off('data', onData);
    theirs.push(Buffer.concat(out));
  }
  const d2 = new HeaderDecompressor();
  t.same(d2.decompress(theirs[0]!), h, 'we read zlib blocks');
  t.same(d2.decompress(theirs[1]!), { streamtype: ['stderr'] });
  t.throws(() => new HeaderDecompressor().decompress(Buffer.from('not zlib at all')), /cannot decompress/);
});

t.test('frames encode and decode, however the bytes are cut', async (t) => {
  const syn = encodeSynStream(5, Buffer.from('hdrs'));
  const data = encodeData(5, Buffer.from('hello'), true);
  const big = encodeData(7, crypto.randomBytes(200_000));
  const rst = encodeRstStream(5, RstStatus.Cancel);
  const bytes = Buffer.concat([syn, data, big, rst]);
  t.equal(syn.readUInt32BE(0), 0x80030001, 'control bit, version 3, SYN_STREAM');
  t.equal(syn.readUInt32BE(4), 14, 'length: 10 fixed bytes and the block');
  t.equal(data.readUInt32BE(4) >>> 24, FLAG_FIN);

  const check = (frames: Frame[]) => {
    t.equal(frames.length, 4);
    const [a, b, c, d] = frames as [Frame, Frame, Frame, Frame];
    t.match(a, { kind: 'control', version: 3, type: FrameType.SynStream });
    t.equal(a.kind === 'control' && streamIdOf(a.payload), 5);
    t.same(a.kind === 'control' && headerBlockOf(FrameType.SynStream, a.payload).toString(), 'hdrs');
    t.match(b, { kind: 'data', streamId: 5, flags: FLAG_FIN });
    t.equal(b.kind === 'data' && b.data.toString(), 'hello');
    t.equal(c.kind === 'data' && c.data.length, 200_000);
    t.same(c.kind === 'data' && c.data, big.subarray(8));
    t.match(d, { kind: 'control', type: FrameType.RstStream });
  };
  check(new FrameReader().push(bytes));
  // Byte by byte, and in uneven pieces.
  const one = new FrameReader();
  const frames: Frame[] = [];
  for (let i = 0; i < bytes.length; i += 1) frames.push(...one.push(bytes.subarray(i, i + 1)));
  check(frames);
  const uneven = new FrameReader();
  const frames2: Frame[] = [];
  for (let i = 0, n = 3; i < bytes.length; i += n, n = ((n * 7) % 5000) + 1) frames2.push(...uneven.push(bytes.subarray(i, i + n)));
  check(frames2);
  t.throws(() => encodeData(1, Buffer.alloc(0x1000000)), /24-bit/);
});

/** A tiny SPDY server: accepts streams, echoes their data upper-cased, ends them when they end. */
function peer(
  onFrame?: (f: Frame, socket: net.Socket, deflate: HeaderCompressor) => boolean,
): Promise<{ port: number; server: net.Server; seen: Frame[] }> {
  const seen: Frame[] = [];
  const server = net.createServer((socket) => {
    const reader = new FrameReader();
    const inflate = new HeaderDecompressor();
    const deflate = new HeaderCompressor();
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        seen.push(f);
        if (f.kind === 'control' && (f.type === FrameType.SynStream || f.type === FrameType.SynReply || f.type === FrameType.Headers))
          inflate.decompress(headerBlockOf(f.type, f.payload));
        if (onFrame?.(f, socket, deflate)) continue;
        if (f.kind === 'control' && f.type === FrameType.SynStream) {
          const id = Buffer.alloc(4);
          id.writeUInt32BE(streamIdOf(f.payload));
          socket.write(encodeControl(FrameType.SynReply, 0, Buffer.concat([id, deflate.compress({ accepted: ['yes'] })])));
        } else if (f.kind === 'data') {
          socket.write(encodeData(f.streamId, Buffer.from(f.data.toString().toUpperCase()), (f.flags & FLAG_FIN) !== 0));
        }
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, server, seen })),
  );
}

const connect = (port: number) =>
  new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
  });

t.test('a connection opens streams, moves data, half-closes and answers pings', async (t) => {
  let pingAnswered: Buffer | undefined;
  const { port, server, seen } = await peer((f, socket) => {
    if (f.kind === 'control' && f.type === FrameType.Ping) {
      pingAnswered = f.payload;
      return true;
    }
    // Once a stream has been opened, the peer pings (an even id, as a server's are).
    if (f.kind === 'control' && f.type === FrameType.SynStream && streamIdOf(f.payload) === 3)
      socket.write(encodeControl(FrameType.Ping, 0, Buffer.from([0, 0, 0, 2])));
    return false;
  });
  t.teardown(() => server.close());
  const conn = new SpdyConnection(await connect(port));
  const a = conn.openStream({ streamtype: ['stdin'] });
  const b = conn.openStream({ streamtype: ['stdout'] });
  t.equal(a.id, 1);
  t.equal(b.id, 3, 'client streams are odd');
  t.same(await a.reply, { accepted: ['yes'] });
  await b.reply;
  let out = '';
  a.on('data', (d: Buffer) => (out += d));
  a.write('hello ');
  a.end('world');
  await new Promise((r) => a.once('end', r));
  t.equal(out, 'HELLO WORLD', 'echoed, and the FIN came back');
  t.same(pingAnswered, Buffer.from([0, 0, 0, 2]), 'the peer ping was answered with its id');
  const syn = seen.filter((f) => f.kind === 'control' && f.type === FrameType.SynStream);
  t.equal(syn.length, 2);
  const fin = seen.find((f) => f.kind === 'data' && f.streamId === 1 && f.flags & FLAG_FIN);
  t.ok(fin, 'end() sent DATA with FIN');
  t.notOk(b.readableEnded, 'the other stream is still open');

  // A large write arrives whole (no flow control stalls it).
  let got = 0;
  b.on('data', (d: Buffer) => (got += d.length));
  const payload = Buffer.alloc(3 * 1024 * 1024, 'x');
  b.end(payload);
  await new Promise((r) => b.once('end', r));
  t.equal(got, payload.length);
  conn.close();
});

t.test('a reset or a closed connection ends streams, and pushed streams are refused', async (t) => {
  const { port, server, seen } = await peer((f, socket, deflate) => {
    if (f.kind === 'control' && f.type === FrameType.SynStream && streamIdOf(f.payload) === 1) {
      socket.write(encodeRstStream(1, RstStatus.RefusedStream));
      // A stream pushed from the server side (even id) is not for a client like us.
      socket.write(encodeSynStream(2, deflate.compress({ x: ['y'] })));
      return true;
    }
    return false;
  });
  t.teardown(() => server.close());
  const socket = await connect(port);
  const conn = new SpdyConnection(socket);
  const refused = conn.openStream({ streamtype: ['error'] });
  await t.rejects(refused.reply, /reset SPDY stream 1/);
  await new Promise((r) => (refused.readableEnded ? r(null) : refused.once('end', r).resume()));
  refused.write('dropped quietly');
  const waitRst = async () => {
    for (let i = 0; i < 200 && !seen.some((f) => f.kind === 'control' && f.type === FrameType.RstStream); i++)
      await new Promise((r) => setImmediate(r));
  };
  await waitRst();
  t.ok(
    seen.some((f) => f.kind === 'control' && f.type === FrameType.RstStream && streamIdOf(f.payload) === 2),
    'the pushed stream got RST_STREAM',
  );

  const open = conn.openStream({ streamtype: ['stdout'] });
  await open.reply;
  const closed = new Promise((r) => conn.once('close', r));
  socket.destroy();
  await closed;
  await new Promise((r) => (open.readableEnded ? r(null) : open.once('end', r).resume()));
  t.ok(conn.isClosed);
  const late = conn.openStream({ streamtype: ['stdin'] });
  await t.rejects(late.reply, /closed/);
});
