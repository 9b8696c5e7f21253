// Upgrade requests (WebSocket, SPDY) handed to a handler, with the sockets they took kept track
// of: once upgraded, a connection is no longer the HTTP server's, so closing the server does not
// end it and `closeAll` must.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function handleUpgrades(server: Server, handler: UpgradeHandler): { closeAll(): void } {
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    handler(req, socket, head);
  });
  return {
    closeAll() {
      for (const s of sockets) s.destroy();
    },
  };
}
