// Forwarding an HTTP upgrade (WebSocket or SPDY) one hop further: the request is replayed with the
// client's own headers on a connection to the next hop, and the two connections are then joined,
// so the protocol is agreed between the two ends. The API server uses it toward the node's agent,
// and the agent toward containerd's streaming server.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export function replayUpgrade(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  upstream: Duplex,
  target: { path: string; host: string },
): void {
  const lines = [`${req.method} ${target.path} HTTP/1.1`, `Host: ${target.host}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!/^(host|authorization)$/i.test(req.rawHeaders[i]!)) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  }
  upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
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
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\ncontent-type: ${contentType}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export interface UpgradeAnswer {
  status: number;
  /** Header names lowercased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  /** The body of an answer that is not 101. */
  body: string;
  /** Bytes after the 101 answer's head: the first of the new protocol. */
  rest: Buffer;
}

/**
 * Sends an upgrade request on a fresh connection and reads the answer: 101 with what followed it, or
 * another status with its body (read to its content-length or to the end of the connection).
 */
export function requestUpgrade(
  socket: Duplex,
  req: { method: string; path: string; host: string; headers: [string, string][] },
): Promise<UpgradeAnswer> {
  const lines = [`${req.method} ${req.path} HTTP/1.1`, `Host: ${req.host}`, ...req.headers.map(([k, v]) => `${k}: ${v}`)];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let head: { status: number; headers: Record<string, string>; bodyAt: number } | undefined;
    const finish = (answer?: UpgradeAnswer, err?: Error) => {
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError);
      if (answer) resolve(answer);
      else reject(err);
    };
    const bodyDone = () => {
      const length = head!.headers['content-length'];
      return length !== undefined && buf.length - head!.bodyAt >= Number(length);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > 64 * 1024) finish(undefined, new Error('the upgrade answer has no end of headers'));
          return;
        }
        const [statusLine, ...headerLines] = buf.toString('latin1', 0, end).split('\r\n');
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
        if (!status) return finish(undefined, new Error(`not an HTTP answer: ${JSON.stringify(statusLine)}`));
        const headers: Record<string, string> = {};
        for (const line of headerLines) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        head = { status, headers, bodyAt: end + 4 };
        if (status === 101) {
          socket.pause();
          return finish({ status, headers, body: '', rest: buf.subarray(head.bodyAt) });
        }
      }
      if (bodyDone()) onEnd();
    };
    const onEnd = () => {
      if (!head) return finish(undefined, new Error('the connection closed before an answer to the upgrade'));
      const length = head.headers['content-length'];
      const body = buf.subarray(head.bodyAt, length !== undefined ? head.bodyAt + Number(length) : undefined).toString('utf8');
      finish({ status: head.status, headers: head.headers, body, rest: Buffer.alloc(0) });
    };
    const onError = (err: Error) => finish(undefined, err);
    socket.on('data', onData).on('end', onEnd).on('close', onEnd).on('error', onError);
  });
}
