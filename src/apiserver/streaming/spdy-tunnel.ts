// SPDY tunnelled through WebSocket (subprotocol "SPDY/3.1+portforward.k8s.io"), which kubectl 1.31+
// uses for port-forward: the client speaks SPDY inside binary WebSocket messages, with no channel
// byte. As kube-apiserver's tunneling handler, the node connection is upgraded to SPDY/3.1 with the
// protocols named after the prefix, and bytes are copied both ways unchanged.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { pipeToWebSocket, writeFromWebSocket } from '../../net/ws-pipe.js';

export const TUNNEL_PREFIX = 'SPDY/3.1+';

/** The SPDY protocols a tunnelling client asks for: its "SPDY/3.1+<name>.k8s.io" subprotocols, unprefixed. */
export function tunnelledProtocols(offered: string[]): string[] {
  return offered.filter((p) => p.startsWith(TUNNEL_PREFIX) && p.endsWith('.k8s.io')).map((p) => p.slice(TUNNEL_PREFIX.length));
}

/** Copies the node's SPDY bytes (starting with `rest`) into binary messages and the client's messages back. */
export function bridgeTunnel(ws: WebSocket, node: Duplex, rest: Buffer): void {
  if (rest.length) ws.send(rest);
  pipeToWebSocket(node, ws, (chunk) => chunk);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    // Only binary messages carry the tunnel (client-go refuses anything else too).
    if (!isBinary) return ws.close(1003, 'the SPDY tunnel takes binary messages only');
    writeFromWebSocket(ws, node, data);
  });
  node.on('end', () => ws.close(1000));
  node.on('close', () => ws.close(1000));
  node.on('error', () => ws.terminate());
  ws.on('close', () => node.destroy());
  node.resume();
}
