// Moving bytes between a WebSocket and Node streams without unbounded buffering either way: a
// reader is paused while too much of what it gave is still queued on the WebSocket, and the
// WebSocket stops reading while a writer it feeds is full. (SPDY toward the node has no flow
// control of its own, so this is all the backpressure a large `kubectl cp` gets.)
import type { Readable, Writable } from 'node:stream';
import type { WebSocket } from 'ws';

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/** Sends everything `src` reads to `ws`, each chunk as one message made by `message`. */
export function pipeToWebSocket(src: Readable, ws: WebSocket, message: (chunk: Buffer) => Buffer | string): void {
  let queued = 0;
  let paused = false;
  src.on('data', (chunk: Buffer) => {
    queued += chunk.length;
    ws.send(message(chunk), () => {
      queued -= chunk.length;
      if (paused && queued < LOW_WATER) {
        paused = false;
        src.resume();
      }
    });
    if (!paused && queued > HIGH_WATER) {
      paused = true;
      src.pause();
    }
  });
}

/** Writes what came from `ws` to `dst`; while `dst` is full, `ws` is not read. */
export function writeFromWebSocket(ws: WebSocket, dst: Writable, data: Buffer): void {
  if (dst.writableEnded || dst.destroyed) return;
  if (!dst.write(data)) {
    ws.pause();
    dst.once('drain', () => ws.resume());
  }
}
