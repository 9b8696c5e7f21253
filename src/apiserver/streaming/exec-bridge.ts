// exec and attach for WebSocket clients, toward a node that speaks SPDY (remote command protocol
// v4.channel.k8s.io), as kube-apiserver's StreamTranslator does: one SPDY stream per standard
// stream plus error and resize, and the WebSocket channels mapped onto them both ways. When the
// node has said how it ended (the error stream) and all output has gone out, the client gets the
// status on the error channel and a close, without which kubectl would wait on.
import type { Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { SpdyConnection } from '../../net/spdy/connection.js';
import type { SpdyStream } from '../../net/spdy/stream.js';
import { pipeToWebSocket, writeFromWebSocket } from '../../net/ws-pipe.js';
import { CLOSE_CHANNEL, decodeMessage, encodeMessage, finalStatus, resizeEvent, type ChannelProtocol } from './channel-protocol.js';

export const REMOTE_COMMAND_PROTOCOL = 'v4.channel.k8s.io';

export interface ExecOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface ExecStreams {
  error: SpdyStream;
  stdin?: SpdyStream;
  stdout?: SpdyStream;
  stderr?: SpdyStream;
  resize?: SpdyStream;
}

/**
 * Opens the streams the node waits for (it counts them: error, each requested standard stream,
 * resize with a tty; no stderr with a tty) and resolves once the node accepted them all.
 */
export async function openExecStreams(conn: SpdyConnection, o: ExecOptions): Promise<ExecStreams> {
  const open = (type: string) => conn.openStream({ streamtype: [type] });
  const streams: ExecStreams = { error: open('error') };
  if (o.stdin) streams.stdin = open('stdin');
  if (o.stdout) streams.stdout = open('stdout');
  if (o.stderr && !o.tty) streams.stderr = open('stderr');
  if (o.tty) streams.resize = open('resize');
  // Nothing is written to the error stream; the node only reads the resize stream.
  streams.error.end();
  await Promise.all(Object.values(streams).map((s: SpdyStream) => s.reply));
  return streams;
}

const ended = (s: Readable | undefined) =>
  s && !s.readableEnded ? new Promise<void>((resolve) => s.once('end', resolve).once('close', resolve)) : Promise.resolve();

/** Joins an accepted WebSocket to the node's streams until the command ends or either side goes. */
export function bridgeExec(ws: WebSocket, p: ChannelProtocol, conn: SpdyConnection, streams: ExecStreams): void {
  const send = (channel: number, data: Buffer) => ws.send(encodeMessage(p, channel, data));
  // As the kubelet does: an empty message on the lowest channel the client reads tells it the streams are up.
  send(streams.stdout ? 1 : streams.stderr ? 2 : 3, Buffer.alloc(0));
  if (streams.stdout) pipeToWebSocket(streams.stdout, ws, (d) => encodeMessage(p, 1, d));
  if (streams.stderr) pipeToWebSocket(streams.stderr, ws, (d) => encodeMessage(p, 2, d));
  let status = '';
  streams.error.on('data', (d: Buffer) => (status += d.toString('utf8')));

  ws.on('message', (raw: Buffer) => {
    const msg = decodeMessage(p, raw);
    if (!msg) return;
    if (msg.channel === 0 && streams.stdin) writeFromWebSocket(ws, streams.stdin, msg.data);
    else if (msg.channel === 4 && streams.resize) {
      const event = resizeEvent(msg.data);
      if (event) writeFromWebSocket(ws, streams.resize, event);
    } else if (msg.channel === CLOSE_CHANNEL && p.version >= 5) {
      // The client has no more for that channel: half-close the node's stream, which sees EOF.
      if (msg.data[0] === 0) streams.stdin?.end();
      if (msg.data[0] === 4) streams.resize?.end();
    }
  });
  // The client is gone (or closed first): nothing more can reach it, so hang up on the node.
  ws.on('close', () => conn.destroy());

  void Promise.all([ended(streams.error), ended(streams.stdout), ended(streams.stderr)]).then(() => {
    const final = finalStatus(p, status);
    if (final) send(3, final);
    ws.close(1000);
    conn.close();
  });
}
