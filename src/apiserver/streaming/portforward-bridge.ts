// Port-forward for channel WebSocket clients (client-node, the Python client), toward a node that
// speaks SPDY portforward.k8s.io, as the kubelet's WebSocket port-forward does it: the ports come
// in the query, port i gets channel 2i for data and 2i+1 for errors, each opened with the port
// number in two little-endian bytes. Each port is one connection into the pod: a SPDY pair (error
// and data streams with the same requestID) to the node. When every port's connection is over,
// the WebSocket is closed.
import type { Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import { badRequest } from '../../k8s/errors.js';
import type { SpdyConnection } from '../../net/spdy/connection.js';
import type { SpdyStream } from '../../net/spdy/stream.js';
import { pipeToWebSocket, writeFromWebSocket } from '../../net/ws-pipe.js';
import { decodeMessage, encodeMessage, type ChannelProtocol } from './channel-protocol.js';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

interface PortPair {
  port: number;
  data: SpdyStream;
  error: SpdyStream;
}

/** The `ports` query (repeated or comma separated), as the kubelet checks it. */
export function parsePorts(query: URLSearchParams): number[] {
  const values = query.getAll('ports');
  if (values.length === 0) throw badRequest('query parameter "ports" is required');
  const ports: number[] = [];
  for (const value of values) {
    if (value === '') throw badRequest('query parameter "ports" cannot be empty');
    for (const p of value.split(',')) {
      const n = /^\d+$/.test(p.trim()) ? Number(p.trim()) : NaN;
      if (!(n >= 1 && n <= 65535)) throw badRequest(`unable to parse "${value}" as a port: must be a number from 1 to 65535`);
      ports.push(n);
    }
  }
  return ports;
}

/** One error and one data stream per port; resolves when the node accepted them all. */
export async function openPortStreams(conn: SpdyConnection, ports: number[]): Promise<PortPair[]> {
  const pairs = ports.map((port, requestID) => {
    const headers = (type: string) => ({ streamtype: [type], port: [String(port)], requestid: [String(requestID)] });
    const error = conn.openStream(headers('error'));
    // As client-go: nothing is written to the error stream.
    error.end();
    return { port, error, data: conn.openStream(headers('data')) };
  });
  await Promise.all(pairs.flatMap((p) => [p.error.reply, p.data.reply]));
  return pairs;
}

const ended = (s: Readable) =>
  s.readableEnded ? Promise.resolve() : new Promise<void>((resolve) => s.once('end', resolve).once('close', resolve));

export function bridgePortForward(ws: WebSocket, p: ChannelProtocol, conn: SpdyConnection, pairs: PortPair[]): void {
  pairs.forEach((pair, i) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(pair.port);
    ws.send(encodeMessage(p, 2 * i, portBytes));
    ws.send(encodeMessage(p, 2 * i + 1, portBytes));
    pipeToWebSocket(pair.data, ws, (d) => encodeMessage(p, 2 * i, d));
    pipeToWebSocket(pair.error, ws, (d) => encodeMessage(p, 2 * i + 1, d));
  });
  ws.on('message', (raw: Buffer) => {
    const msg = decodeMessage(p, raw);
    const pair = msg && msg.channel % 2 === 0 ? pairs[msg.channel / 2] : undefined;
    if (pair) writeFromWebSocket(ws, pair.data, msg!.data);
  });
  ws.on('close', () => conn.destroy());
  void Promise.all(pairs.flatMap((pair) => [ended(pair.data), ended(pair.error)])).then(() => {
    ws.close(1000);
    conn.close();
  });
}
