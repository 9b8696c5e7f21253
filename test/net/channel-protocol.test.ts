// The WebSocket channel protocols without a node: negotiation, message framing (binary and base64),
// the final status per protocol version, resize events, and the exec bridge against an in-process
// SPDY peer, spoken to by a real WebSocket client.
import http from 'node:http';
import net from 'node:net';
import t, { type Test } from 'tap';
import { WebSocket, WebSocketServer } from 'ws';
import {
  decodeMessage,
  encodeMessage,
  finalStatus,
  negotiate,
  offeredProtocols,
  resizeEvent,
  type ChannelProtocol,
} from '../../src/apiserver/streaming/channel-protocol.js';
import { bridgeExec, openExecStreams } from '../../src/apiserver/streaming/exec-bridge.js';
import { parsePorts } from '../../src/apiserver/streaming/portforward-bridge.js';
import { tunnelledProtocols } from '../../src/apiserver/streaming/spdy-tunnel.js';
import { SpdyConnection } from '../../src/net/spdy/connection.js';
import { encodeControl, encodeData, FLAG_FIN, FrameReader, FrameType, headerBlockOf, streamIdOf } from '../../src/net/spdy/frames.js';
import { HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from '../../src/net/spdy/header-block.js';

t.test('negotiation picks the first protocol the client offered that is spoken', async (t) => {
  t.same(offeredProtocols(['v5.channel.k8s.io, v4.channel.k8s.io', 'channel.k8s.io']), [
    'v5.channel.k8s.io',
    'v4.channel.k8s.io',
    'channel.k8s.io',
  ]);
  t.match(negotiate('exec', ['v5.channel.k8s.io', 'v4.channel.k8s.io']), { name: 'v5.channel.k8s.io', version: 5, base64: false });
  t.match(negotiate('exec', ['v4.channel.k8s.io']), { version: 4 });
  t.match(negotiate('exec', ['x', 'v4.base64.channel.k8s.io']), { version: 4, base64: true });
  t.match(negotiate('exec', ['base64.channel.k8s.io', 'channel.k8s.io']), { name: 'base64.channel.k8s.io', version: 1, base64: true });
  t.match(negotiate('exec', ['v3.channel.k8s.io']), { version: 3 });
  t.match(negotiate('exec', ['v2.channel.k8s.io']), { version: 2 });
  t.match(negotiate('exec', []), { name: '', version: 1, base64: false }, 'none offered: binary channels');
  t.match(negotiate('exec', ['v9.channel.k8s.io']), /not supported: \[v9\.channel\.k8s\.io\]; supports \[v5\.channel\.k8s\.io/);
  // Port-forward: client-node offers v5 first, but the kubelet's port-forward protocol is v4.
  t.match(negotiate('portforward', ['v5.channel.k8s.io', 'v4.channel.k8s.io']), { name: 'v4.channel.k8s.io' });
  t.match(negotiate('portforward', ['portforward.k8s.io']), { name: 'portforward.k8s.io', base64: false });
  t.same(tunnelledProtocols(['SPDY/3.1+portforward.k8s.io', 'v4.channel.k8s.io', 'SPDY/3.1+evil']), ['portforward.k8s.io']);
});

t.test('messages carry the channel first: a byte, or a digit before base64', async (t) => {
  const bin: ChannelProtocol = { name: 'v5.channel.k8s.io', version: 5, base64: false };
  const b64: ChannelProtocol = { name: 'v4.base64.channel.k8s.io', version: 4, base64: true };
  t.same(encodeMessage(bin, 1, Buffer.from('hi')), Buffer.from([1, 0x68, 0x69]));
  t.equal(encodeMessage(b64, 2, Buffer.from('hi\n')), '2aGkK');
  t.same(decodeMessage(bin, Buffer.from([0, 0x61])), { channel: 0, data: Buffer.from('a') });
  t.same(decodeMessage(bin, Buffer.from([255, 0])), { channel: 255, data: Buffer.from([0]) }, 'the v5 close signal');
  t.same(decodeMessage(b64, Buffer.from('0Zm9vCg==')), { channel: 0, data: Buffer.from('foo\n') });
  t.equal(decodeMessage(b64, Buffer.from('0not base64!')), undefined);
  t.equal(decodeMessage(bin, Buffer.alloc(0)), undefined);
  t.same(encodeMessage(bin, 1, Buffer.alloc(0)), Buffer.from([1]), 'the empty hello');
});

t.test('the final status follows the protocol version', async (t) => {
  const v5: ChannelProtocol = { name: 'v5.channel.k8s.io', version: 5, base64: false };
  const v1: ChannelProtocol = { name: 'channel.k8s.io', version: 1, base64: false };
  const failure = JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: 'command terminated with non-zero exit code: error executing command, exit status 3',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] },
  });
  t.equal(finalStatus(v5, failure)!.toString(), failure, 'v4+: the Status as JSON');
  t.same(JSON.parse(finalStatus(v5, '')!.toString()), { metadata: {}, status: 'Success' }, 'v4+: Success when the node said nothing');
  t.equal(
    finalStatus(v1, failure)!.toString(),
    'command terminated with non-zero exit code: error executing command, exit status 3',
    'v1-v3: the message',
  );
  t.equal(finalStatus(v1, JSON.stringify({ metadata: {}, status: 'Success' })), undefined, 'v1-v3: nothing on success');
  t.equal(finalStatus(v1, ''), undefined);
  t.equal(finalStatus(v1, 'plain words')!.toString(), 'plain words');
});

t.test('resize events and ports are checked', async (t) => {
  t.equal(resizeEvent(Buffer.from('{"Width":80,"Height":24}'))!.toString(), '{"Width":80,"Height":24}\n');
  t.equal(resizeEvent(Buffer.from('{"Width":-1,"Height":24}')), undefined);
  t.equal(resizeEvent(Buffer.from('nonsense')), undefined);
  t.same(parsePorts(new URLSearchParams('ports=8080,9090&ports=1')), [8080, 9090, 1]);
  t.throws(() => parsePorts(new URLSearchParams('')), /"ports" is required/);
  t.throws(() => parsePorts(new URLSearchParams('ports=0')), /unable to parse/);
  t.throws(() => parsePorts(new URLSearchParams('ports=http')), /unable to parse/);
});

/**
 * A node's remote command server in miniature: takes the streams, echoes stdin to stdout upper-cased
 * until stdin ends (or says "exit"), then writes stderr, the status (exit code 3) and closes the connection.
 */
function fakeNode(): Promise<{ port: number; server: net.Server; resizes: string[] }> {
  const resizes: string[] = [];
  const server = net.createServer((socket) => {
    const reader = new FrameReader();
    const inflate = new HeaderDecompressor();
    const deflate = new HeaderCompressor();
    const types = new Map<number, string>();
    const byType = (type: string) => [...types].find(([, ty]) => ty === type)?.[0];
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (f.kind === 'control' && f.type === FrameType.SynStream) {
          const h: SpdyHeaders = inflate.decompress(headerBlockOf(f.type, f.payload));
          const id = streamIdOf(f.payload);
          types.set(id, h.streamtype![0]!);
          const idBytes = Buffer.alloc(4);
          idBytes.writeUInt32BE(id);
          socket.write(encodeControl(FrameType.SynReply, 0, Buffer.concat([idBytes, deflate.compress({})])));
        } else if (f.kind === 'data') {
          const type = types.get(f.streamId);
          const exit = type === 'stdin' && (f.flags & FLAG_FIN || f.data.toString() === 'exit');
          if (type === 'stdin' && f.data.length && !exit)
            socket.write(encodeData(byType('stdout')!, Buffer.from(f.data.toString().toUpperCase())));
          if (type === 'resize' && f.data.length) resizes.push(f.data.toString());
          if (exit) {
            if (byType('stderr')) socket.write(encodeData(byType('stderr')!, Buffer.from('bye\n'), true));
            socket.write(encodeData(byType('stdout')!, Buffer.alloc(0), true));
            const status = {
              metadata: {},
              status: 'Failure',
              message: 'exit 3',
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: '3' }] },
            };
            socket.write(encodeData(byType('error')!, Buffer.from(JSON.stringify(status)), true));
            socket.end();
          }
        }
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, server, resizes })),
  );
}

async function execThroughBridge(t: Test, protocol: string, opts: { tty?: boolean } = {}) {
  const node = await fakeNode();
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => (offered.has(protocol) ? protocol : false) });
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => {
    const p = negotiate('exec', offeredProtocols(req.headers['sec-websocket-protocol'])) as ChannelProtocol;
    const nodeSocket = net.connect(node.port, '127.0.0.1', async () => {
      const conn = new SpdyConnection(nodeSocket);
      const streams = await openExecStreams(conn, { stdin: true, stdout: true, stderr: true, tty: opts.tty ?? false });
      wss.handleUpgrade(req, socket, head, (ws) => bridgeExec(ws, p, conn, streams));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.close();
    node.server.close();
  });
  const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`, [protocol]);
  const messages: (Buffer | string)[] = [];
  ws.on('message', (d: Buffer, isBinary) => messages.push(isBinary ? d : d.toString()));
  /** Resolves at the first message (received before or after) that `match` accepts. */
  const message = (match: (m: Buffer | string) => boolean) =>
    new Promise<void>((resolve) => {
      if (messages.some(match)) return resolve();
      const on = (d: Buffer, isBinary: boolean) => {
        if (match(isBinary ? d : d.toString())) {
          ws.off('message', on);
          resolve();
        }
      };
      ws.on('message', on);
    });
  await new Promise((r) => ws.once('open', r));
  const closed = new Promise<number>((r) => ws.once('close', r));
  return { ws, messages, message, closed, node };
}

t.test('the exec bridge: v5 with stdin closed by the client', async (t) => {
  const { ws, messages, closed, node } = await execThroughBridge(t, 'v5.channel.k8s.io', { tty: true });
  ws.send(Buffer.from([4, ...Buffer.from('{"Width":100,"Height":40}')]));
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('hello')]));
  ws.send(Buffer.from([255, 0]));
  t.equal(await closed, 1000, 'the server closed the WebSocket normally');
  const bin = messages as Buffer[];
  t.same(bin[0], Buffer.from([1]), 'first the empty hello on stdout');
  t.equal(Buffer.concat(bin.filter((m) => m[0] === 1).map((m) => m.subarray(1))).toString(), 'HELLO');
  t.equal(bin.filter((m) => m[0] === 2).length, 0, 'no stderr with a tty');
  const status = JSON.parse(bin.at(-1)!.subarray(1).toString());
  t.equal(bin.at(-1)![0], 3, 'the status comes last, on the error channel');
  t.match(status, { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ message: '3' }] } });
  t.same(node.resizes, ['{"Width":100,"Height":40}\n'], 'the resize went to the resize stream');
});

t.test('the exec bridge: base64 channels and a v1 status', async (t) => {
  const { ws, messages, message, closed } = await execThroughBridge(t, 'base64.channel.k8s.io');
  ws.send(`0${Buffer.from('abc').toString('base64')}`);
  await message((m) => m === `1${Buffer.from('ABC').toString('base64')}`);
  t.equal(messages[0], '1', 'the hello as a text message');
  ws.send(`0${Buffer.from('exit').toString('base64')}`);
  t.equal(await closed, 1000);
  t.equal(messages.at(-2), `2${Buffer.from('bye\n').toString('base64')}`, 'stderr in base64');
  t.equal(messages.at(-1), `3${Buffer.from('exit 3').toString('base64')}`, 'v1: the error message alone, in base64');
});
