// DNS over UDP and TCP on one address (the cluster DNS address on this node). TCP connections may
// carry several length-prefixed messages, answered as they complete (clients match them by id);
// an idle connection is closed after a while, as servers do (RFC 7766).
import dgram from 'node:dgram';
import net from 'node:net';
import { log } from '../../../log.js';
import type { Transport } from './handler.js';

export type Handle = (msg: Buffer, transport: Transport) => Promise<Buffer | undefined>;

export interface DnsServer {
  /** The ports bound (the same unless port 0 was asked for). */
  udpPort: number;
  tcpPort: number;
  close(): Promise<void>;
}

const TCP_IDLE_MS = 10_000;

export async function startDnsServer(address: string, port: number, handle: Handle): Promise<DnsServer> {
  const udp = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4' });
  udp.on('message', (msg, peer) => {
    handle(msg, 'udp').then(
      (out) => out && udp.send(out, peer.port, peer.address),
      (err) => log.warn({ err, peer: peer.address }, 'cluster DNS: a UDP question failed'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind({ address, port, exclusive: true }, () => {
      udp.off('error', reject);
      udp.on('error', (err) => log.warn({ err }, 'cluster DNS: UDP socket error'));
      resolve();
    });
  });
  const connections = new Set<net.Socket>();
  const tcp = net.createServer((conn) => {
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
    conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
    conn.on('error', () => conn.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + msg.length);
        handle(msg, 'tcp').then(
          (out) => {
            if (!out || conn.destroyed) return;
            const length = Buffer.alloc(2);
            length.writeUInt16BE(out.length);
            conn.write(Buffer.concat([length, out]));
          },
          (err) => log.warn({ err }, 'cluster DNS: a TCP question failed'),
        );
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: address, port: port || (udp.address() as net.AddressInfo).port, exclusive: true }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    udp.close();
    throw err;
  }
  return {
    udpPort: udp.address().port,
    tcpPort: (tcp.address() as net.AddressInfo).port,
    async close() {
      for (const c of connections) c.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}
