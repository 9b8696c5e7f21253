// The API server's own WebSocket end for exec, attach and port-forward: the client's subprotocol is
// agreed here, the node is reached over SPDY (which is what containerd's streaming server speaks),
// and only once the node took the streams is the client's upgrade answered, so a node's refusal
// still reaches the client as a plain HTTP error with a Status.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiError, badRequest } from '../../k8s/errors.js';
import { log } from '../../log.js';
import { SpdyConnection } from '../../net/spdy/connection.js';
import { negotiate, offeredProtocols } from './channel-protocol.js';
import { bridgeExec, openExecStreams, REMOTE_COMMAND_PROTOCOL, type ExecOptions } from './exec-bridge.js';
import { ANSWER_TIMEOUT_MS, upgradeNodeToSpdy, type NodeTarget } from './node-dial.js';
import { bridgePortForward, openPortStreams, PORT_FORWARD_PROTOCOL } from './portforward-bridge.js';
import { bridgeTunnel, TUNNEL_PREFIX, tunnelledProtocols } from './spdy-tunnel.js';

export type StreamRequest =
  | { kind: 'exec' | 'attach'; node: NodeTarget; path: string; options: ExecOptions }
  | { kind: 'portforward'; node: NodeTarget; path: string; ports?: number[] };

/** Upgrade: websocket (and Connection: upgrade), as wsstream.IsWebSocketRequest. */
export function isWebSocketRequest(req: IncomingMessage): boolean {
  return /^websocket$/i.test(req.headers.upgrade ?? '') && /(^|,)\s*upgrade\s*(,|$)/i.test(req.headers.connection ?? '');
}

/** Port-forward through the SPDY tunnel (kubectl 1.31+) rather than channels. */
export function isTunnelRequest(req: IncomingMessage): boolean {
  return tunnelledProtocols(offeredProtocols(req.headers['sec-websocket-protocol'])).length > 0;
}

/** `p`, or a failure once the node has kept us waiting for ANSWER_TIMEOUT_MS. */
function answered<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS / 1000} s`)), ANSWER_TIMEOUT_MS)),
  );
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class WebSocketStreams {
  private readonly chosen = new WeakMap<IncomingMessage, string | false>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  constructor() {
    // ws checks offered subprotocols as RFC 7230 tokens, which "SPDY/3.1+portforward.k8s.io" is not
    // (kubectl sends it all the same): the protocol is agreed here and written into the 101 itself.
    this.wss.on('headers', (headers: string[], req: IncomingMessage) => {
      const protocol = this.chosen.get(req);
      if (protocol) headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
    });
  }

  async serve(req: IncomingMessage, client: Duplex, head: Buffer, r: StreamRequest): Promise<void> {
    if (req.method !== 'GET' || !req.headers['sec-websocket-key'] || req.headers['sec-websocket-version'] !== '13') {
      throw badRequest('a WebSocket upgrade needs GET, Sec-WebSocket-Key and Sec-WebSocket-Version: 13');
    }
    const offered = offeredProtocols(req.headers['sec-websocket-protocol']);
    if (r.kind === 'portforward' && isTunnelRequest(req)) {
      const node = await upgradeNodeToSpdy(r.node, r.path, tunnelledProtocols(offered));
      const protocol = node.protocol ? TUNNEL_PREFIX + node.protocol : false;
      return this.accept(
        req,
        client,
        head,
        protocol,
        () => node.socket.destroy(),
        (ws) => bridgeTunnel(ws, node.socket, node.rest),
      );
    }
    const p = negotiate(r.kind === 'portforward' ? 'portforward' : 'exec', offered);
    if (typeof p === 'string') throw badRequest(p);
    if (r.kind === 'portforward' && !r.ports) throw badRequest('query parameter "ports" is required');
    const node = await upgradeNodeToSpdy(r.node, r.path, [r.kind === 'portforward' ? PORT_FORWARD_PROTOCOL : REMOTE_COMMAND_PROTOCOL]);
    const conn = new SpdyConnection(node.socket, node.rest);
    try {
      if (r.kind === 'portforward') {
        const pairs = await answered(openPortStreams(conn, r.ports!));
        this.accept(
          req,
          client,
          head,
          p.name || false,
          () => conn.destroy(),
          (ws) => bridgePortForward(ws, p, conn, pairs),
        );
      } else {
        const streams = await answered(openExecStreams(conn, r.options));
        this.accept(
          req,
          client,
          head,
          p.name || false,
          () => conn.destroy(),
          (ws) => bridgeExec(ws, p, conn, streams),
        );
      }
    } catch (err) {
      conn.destroy();
      if (err instanceof ApiError) throw err;
      throw new ApiError(500, 'InternalError', `the node ${r.node.nodeName} did not open the streams: ${(err as Error).message}`);
    }
  }

  /** Answers the client's upgrade with `protocol`; `abandon` runs when the client is gone before that. */
  private accept(
    req: IncomingMessage,
    client: Duplex,
    head: Buffer,
    protocol: string | false,
    abandon: () => void,
    bridge: (ws: WebSocket) => void,
  ): void {
    if (client.destroyed || !client.writable) {
      abandon();
      return;
    }
    this.chosen.set(req, protocol);
    delete req.headers['sec-websocket-protocol'];
    let accepted = false;
    // handleUpgrade answers synchronously (no verifyClient): if it did not call back, it refused the handshake.
    this.wss.handleUpgrade(req, client, head, (ws) => {
      accepted = true;
      ws.on('error', (err) => log.debug({ err: err.message }, 'WebSocket stream error'));
      bridge(ws);
    });
    if (!accepted) abandon();
  }
}
