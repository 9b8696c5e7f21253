// The ingress's proxying: a request (or an upgrade) is sent on to the target its route picked, with
// the client's headers less the hop-by-hop ones, plus X-Forwarded-For/Proto/Host/Port; the answer
// comes back as it is. An upgrade (WebSocket and any other protocol) is replayed to the target and,
// once the target answers 101, the two connections are joined so that the ends speak to each other.
// Node's own http client does both (its 'upgrade' event hands over the target's socket); routing,
// endpoints and errors are the ingress's own, so a proxy library would only wrap these few lines.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Target } from './endpoints.js';

/** Where a request goes: a target, or why there is none. */
export type Resolution = { target: Target } | { status: 404 | 503; reason: string };

/** Headers that belong to one connection and are never passed on (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The headers sent on: the client's, less hop-by-hop ones and those its Connection names, plus X-Forwarded-*. */
export function forwardedHeaders(req: IncomingMessage, secure: boolean): OutgoingHttpHeaders {
  const named = new Set(
    String(req.headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase()),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers as IncomingHttpHeaders))
    if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  const client = req.socket.remoteAddress ?? '';
  const before = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = before ? `${before}, ${client}` : client;
  out['x-forwarded-proto'] = secure ? 'https' : 'http';
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  if (req.socket.localPort) out['x-forwarded-port'] = String(req.socket.localPort);
  return out;
}

function plain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) + 1 });
  res.end(`${text}\n`);
}

/** A plain answer on a socket whose request asked for an upgrade that will not happen. */
function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 16 });

/** Passes one request on to its target; 502 when the target cannot be reached. */
export function proxyRequest(req: IncomingMessage, res: ServerResponse, to: Resolution, secure: boolean): void {
  if (!('target' in to)) {
    plain(res, to.status, to.reason);
    return;
  }
  const { address, port } = to.target;
  const out = http.request(
    { host: address, port, method: req.method, path: req.url, headers: forwardedHeaders(req, secure), agent },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, stripHopByHop(up.headers));
      up.pipe(res);
      up.on('error', () => res.destroy());
    },
  );
  out.on('error', (err) => plain(res, 502, `Bad Gateway: ${err.message}`));
  res.on('close', () => {
    if (!res.writableFinished) out.destroy();
  });
  req.pipe(out);
}

function stripHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

/** Replays an upgrade request to its target and joins the connections once the target switches protocols. */
export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, to: Resolution, secure: boolean): void {
  socket.on('error', () => socket.destroy());
  if (!('target' in to)) {
    refuseUpgrade(socket, to.status, to.reason);
    return;
  }
  const headers = forwardedHeaders(req, secure);
  headers.connection = 'Upgrade';
  headers.upgrade = req.headers.upgrade;
  const out = http.request({ host: to.target.address, port: to.target.port, method: req.method, path: req.url, headers });
  out.on('upgrade', (up, upSocket, upHead) => {
    const lines = [`HTTP/1.1 ${up.statusCode} ${up.statusMessage}`];
    for (let i = 0; i < up.rawHeaders.length; i += 2) lines.push(`${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (upHead.length) socket.write(upHead);
    if (head.length) upSocket.write(head);
    const close = () => {
      upSocket.destroy();
      socket.destroy();
    };
    upSocket.on('error', close).on('close', close);
    socket.on('close', close);
    upSocket.pipe(socket).pipe(upSocket);
  });
  // The target answered without switching: its answer goes back as it is, and the connection ends.
  out.on('response', (up) => {
    const lines = [`HTTP/1.1 ${up.statusCode} ${up.statusMessage}`];
    for (let i = 0; i < up.rawHeaders.length; i += 2)
      if (!/^(connection|transfer-encoding)$/i.test(up.rawHeaders[i]!)) lines.push(`${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}`);
    socket.write(`${lines.join('\r\n')}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n`);
    up.on('data', (chunk: Buffer) => {
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      socket.write('\r\n');
    });
    up.on('end', () => socket.end('0\r\n\r\n'));
  });
  out.on('error', (err) => refuseUpgrade(socket, 502, `Bad Gateway: ${err.message}`));
  out.end();
}
