// DNS on the test's side: a small upstream server whose answers the test decides (forwarding, cache,
// truncation and timeouts are tested against it), and a client that asks one question over UDP or TCP.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Question } from 'dns-packet';

export interface UpstreamReply {
  rcode?: number;
  answers?: Answer[];
  authorities?: Answer[];
  /** Over UDP, answer with TC set and nothing else (the full answer comes over TCP). */
  truncate?: boolean;
  /** Do not answer at all (over UDP). */
  silent?: boolean;
}

export interface FakeUpstream {
  host: string;
  port: number;
  /** Every question received, as `<transport> <name> <type>`. */
  asked: string[];
  close(): Promise<void>;
}

/** A DNS server on `address` (port 0: any free one) answering by `reply`, over UDP and TCP. */
export async function startFakeUpstream(address: string, reply: (q: Question) => UpstreamReply, port = 0): Promise<FakeUpstream> {
  const asked: string[] = [];
  const answer = (msg: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined => {
    const query = dnsPacket.decode(msg);
    const q = query.questions![0]!;
    asked.push(`${transport} ${q.name} ${q.type}`);
    const r = reply(q);
    if (transport === 'udp' && r.silent) return undefined;
    const truncated = transport === 'udp' && r.truncate;
    return dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: (r.rcode ?? 0) | dnsPacket.RECURSION_AVAILABLE | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0),
      questions: query.questions,
      answers: truncated ? [] : (r.answers ?? []),
      authorities: truncated ? [] : (r.authorities ?? []),
    });
  };
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, peer) => {
    const out = answer(msg, 'udp');
    if (out) udp.send(out, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => udp.bind(port, address, resolve));
  const bound = udp.address().port;
  const tcp = net.createServer((conn) => {
    let buf: Buffer = Buffer.alloc(0);
    conn.on('error', () => conn.destroy());
    conn.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const out = answer(msg, 'tcp');
        if (out) conn.write(dnsPacket.streamEncode(dnsPacket.decode(out)));
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(bound, address, resolve));
  return {
    host: address,
    port: bound,
    asked,
    close: async () => {
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}

/** One question to a DNS server; answers the decoded reply (rcode as a number in `rcode`). */
export async function ask(
  server: { host: string; port: number },
  name: string,
  type: Question['type'],
  opts: { tcp?: boolean; edns?: number; timeoutMs?: number; flags?: number; questions?: Question[] } = {},
): Promise<DecodedPacket & { rcode: number; raw: Buffer }> {
  const id = Math.floor(Math.random() * 65536);
  const packet = {
    type: 'query' as const,
    id,
    flags: opts.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: opts.questions ?? [{ name, type, class: 'IN' as const }],
    additionals: opts.edns
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: opts.edns,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          } as Answer,
        ]
      : [],
  };
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${name} ${type} in time`)), opts.timeoutMs ?? 5000);
    if (opts.tcp) {
      const conn = net.connect(server.port, server.host, () => conn.write(dnsPacket.streamEncode(packet)));
      let buf: Buffer = Buffer.alloc(0);
      conn.on('error', reject);
      conn.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(timer);
          conn.destroy();
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      });
    } else {
      const sock = dgram.createSocket('udp4');
      sock.on('error', reject);
      sock.on('message', (msg) => {
        clearTimeout(timer);
        sock.close();
        resolve(msg);
      });
      sock.send(dnsPacket.encode(packet), server.port, server.host);
    }
  });
  const reply = dnsPacket.decode(raw);
  if (reply.id !== id) throw new Error(`answer id ${reply.id}, asked ${id}`);
  return Object.assign(reply, { rcode: (reply.flags ?? 0) & 0xf, raw });
}
