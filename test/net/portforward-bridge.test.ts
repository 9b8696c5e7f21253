// Port-forward translations without a node: channel WebSocket port-forward onto SPDY stream pairs,
// and the SPDY tunnel copied byte for byte, each against an in-process peer and a real WebSocket client.
import http from 'node:http';
import net from 'node:net';
import t, { type Test } from 'tap';
import { WebSocket, WebSocketServer } from 'ws';
import { negotiate, type ChannelProtocol } from '../../src/apiserver/streaming/channel-protocol.js';
import { bridgePortForward, openPortStreams } from '../../src/apiserver/streaming/portforward-bridge.js';
import { bridgeTunnel } from '../../src/apiserver/streaming/spdy-tunnel.js';
import { SpdyConnection } from '../../src/net/spdy/connection.js';
import { encodeControl, encodeData, FrameReader, FrameType, headerBlockOf, streamIdOf } from '../../src/net/spdy/frames.js';
import { HeaderCompressor, HeaderDecompressor } from '../../src/net/spdy/header-block.js';

/**
 * A node's port-forward server in miniature: each data stream gets "port N got: <first chunk>" back
 * and is then closed, as containerd closes it when the pod's side of the connection ends.
 */
function fakeNode(seen: Record<string, string[]>[]): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer((socket) => {
    const reader = new FrameReader();
    const inflate = new HeaderDecompressor();
    const deflate = new HeaderCompressor();
    const streams = new Map<number, Record<string, string[]>>();
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (f.kind === 'control' && f.type === FrameType.SynStream) {
          const h = inflate.decompress(headerBlockOf(f.type, f.payload));
          const id = streamIdOf(f.payload);
          streams.set(id, h);
          seen.push(h);
          const idBytes = Buffer.alloc(4);
          idBytes.writeUInt32BE(id);
          socket.write(encodeControl(FrameType.SynReply, 0, Buffer.concat([idBytes, deflate.compress({})])));
        } else if (f.kind === 'data' && f.data.length) {
          const h = streams.get(f.streamId)!;
          socket.write(encodeData(f.streamId, Buffer.from(`port ${h.port![0]} got: ${f.data}`), true));
          const error = [...streams].find(([, e]) => e.streamtype![0] === 'error' && e.requestid![0] === h.requestid![0])![0];
          socket.write(encodeData(error, Buffer.alloc(0), true));
        }
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, server })),
  );
}

async function serve(
  t: Test,
  onUpgrade: (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void,
): Promise<number> {
  const server = http.createServer();
  server.on('upgrade', onUpgrade);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

t.test('channel port-forward: one SPDY pair per port, the port first on each channel', async (t) => {
  const seen: Record<string, string[]>[] = [];
  const node = await fakeNode(seen);
  t.teardown(() => node.server.close());
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => 'v4.channel.k8s.io' });
  const port = await serve(t, (req, socket, head) => {
    const p = negotiate('portforward', ['v4.channel.k8s.io']) as ChannelProtocol;
    const nodeSocket = net.connect(node.port, '127.0.0.1', async () => {
      const conn = new SpdyConnection(nodeSocket);
      const pairs = await openPortStreams(conn, [8080, 9090]);
      wss.handleUpgrade(req, socket, head, (ws) => bridgePortForward(ws, p, conn, pairs));
    });
  });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
  const messages: Buffer[] = [];
  ws.on('message', (d: Buffer) => messages.push(d));
  const closed = new Promise<number>((r) => ws.once('close', r));
  await new Promise((r) => ws.once('open', r));
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('hello')]));
  ws.send(Buffer.concat([Buffer.from([2]), Buffer.from('there')]));
  t.equal(await closed, 1000, 'closed once both ports are done');
  t.same(
    messages.slice(0, 4),
    [Buffer.from([0, 0x90, 0x1f]), Buffer.from([1, 0x90, 0x1f]), Buffer.from([2, 0x82, 0x23]), Buffer.from([3, 0x82, 0x23])],
    'port numbers, little-endian, on data and error channels',
  );
  const text = (ch: number) =>
    messages
      .slice(4)
      .filter((m) => m[0] === ch)
      .map((m) => m.subarray(1).toString())
      .join('');
  t.equal(text(0), 'port 8080 got: hello');
  t.equal(text(2), 'port 9090 got: there');
  t.same(
    seen.map((h) => [h.streamtype![0], h.port![0], h.requestid![0]]),
    [
      ['error', '8080', '0'],
      ['data', '8080', '0'],
      ['error', '9090', '1'],
      ['data', '9090', '1'],
    ],
    'streams as client-go opens them: error then data, with port and requestID',
  );
});

t.test('the SPDY tunnel copies bytes both ways and takes binary messages only', async (t) => {
  const received: Buffer[] = [];
  const nodeServer = net.createServer((s) => {
    s.on('data', (d: Buffer) => {
      received.push(d);
      s.write(Buffer.concat([Buffer.from('echo:'), d]));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => nodeServer.listen(0, '127.0.0.1', r));
  t.teardown(() => nodeServer.close());
  const wss = new WebSocketServer({ noServer: true });
  const port = await serve(t, (req, socket, head) => {
    const node = net.connect((nodeServer.address() as net.AddressInfo).port, '127.0.0.1', () => {
      wss.handleUpgrade(req, socket, head, (ws) => bridgeTunnel(ws, node, Buffer.from('first')));
    });
  });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const messages: Buffer[] = [];
  const second = new Promise<void>((resolve) =>
    ws.on('message', (d: Buffer, isBinary) => {
      messages.push(d);
      t.ok(isBinary);
      if (messages.length === 2) resolve();
    }),
  );
  await new Promise((r) => ws.once('open', r));
  ws.send(Buffer.from([0x80, 0x03, 0x00, 0x01]));
  await second;
  t.same(
    messages,
    [Buffer.from('first'), Buffer.from([...Buffer.from('echo:'), 0x80, 0x03, 0x00, 0x01])],
    'bytes after the upgrade answer, then the echo',
  );
  t.same(Buffer.concat(received), Buffer.from([0x80, 0x03, 0x00, 0x01]));
  const closed = new Promise<number>((r) => ws.once('close', r));
  ws.send('text is not SPDY');
  t.equal(await closed, 1003);
});
