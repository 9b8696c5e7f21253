// Serves the API app over HTTPS. Client certificates are requested but not required, so that
// bearer-token and anonymous requests reach the app, which decides who they are.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { handleUpgrades, type UpgradeHandler } from '../net/upgraded-sockets.js';
import type { Env, Hono } from 'hono';

export interface HttpsOptions {
  port: number;
  host: string;
  certPem: string;
  keyPem: string;
  clientCAPem: string;
  /** Takes upgrade requests (WebSocket, SPDY); without it they are refused. */
  onUpgrade?: UpgradeHandler;
}

export async function listenHttps<E extends Env>(
  app: Hono<E>,
  opts: HttpsOptions,
): Promise<{ server: https.Server; port: number; close(): Promise<void> }> {
  const server = createAdaptorServer({
    fetch: app.fetch,
    createServer: https.createServer,
    serverOptions: { cert: opts.certPem, key: opts.keyPem, ca: opts.clientCAPem, requestCert: true, rejectUnauthorized: false },
  }) as https.Server;
  const upgrades = opts.onUpgrade && handleUpgrades(server, opts.onUpgrade);
  // Long watches are normal here: no request or idle timeouts from Node.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'the address is already in use'
          : err.code === 'EACCES'
            ? 'permission denied (ports below 1024 need root)'
            : err.message;
      reject(new Error(`cannot listen on ${opts.host}:${opts.port}: ${why}`));
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        upgrades?.closeAll();
      }),
  };
}
