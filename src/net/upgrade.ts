// Forwarding an HTTP upgrade (WebSocket or SPDY) one hop further: the request is replayed with the
// client's own headers on a connection to the next hop, and the two connections are then joined,
// so the protocol is agreed between the two ends. The API server uses it toward the node's agent,
// and the agent toward containerd's streaming server.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export function replayUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, upstream: Duplex, target: { path: string; host: string }): void {
  const lines = [`${req.method} ${target.path} HTTP/1.1`, `Host: ${target.host}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!/^(host|authorization)$/i.test(req.rawHeaders[i]!)) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  }
  upstream.write(lines.join('\r\n') + '\r\n\r\n');
  if (head.length) upstream.write(head);
  upstream.pipe(client).pipe(upstream);
  const close = () => {
    upstream.destroy();
    client.destroy();
  };
  upstream.on('error', close).on('close', close);
  client.on('error', close).on('close', close);
}

/** Answers an upgrade request that will not be upgraded, on the raw socket. */
export function refuseUpgrade(socket: Duplex, code: number, reason: string, contentType: string, body: string): void {
  socket.end(`HTTP/1.1 ${code} ${reason}\r\ncontent-type: ${contentType}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
