// Names that are not the cluster's go to the host's upstream servers, in the order its resolv.conf
// lists them: over UDP, the next server when one does not answer in time (or refuses, or fails), the
// same server over TCP when its UDP answer was truncated. Answers are cached (cache.ts), and the same
// question asked again while one is on its way waits for that one instead of being sent twice.
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import { log } from '../../../log.js';
import { cacheKey, DnsCache, RCODE, type Reply } from './cache.js';

export interface Upstream {
  host: string;
  port: number;
}

export interface ForwarderOptions {
  /** The servers to ask, in order (read again at each question, so a changed resolv.conf takes effect). */
  upstreams: () => Upstream[];
  /** How long one server has to answer (default 2 s). */
  timeoutMs?: number;
  cache?: DnsCache;
}

/** The UDP payload we offer upstream (EDNS0), the size DNS Flag Day 2020 settled on: no fragmentation. */
export const EDNS_UDP_SIZE = 1232;

const rcodeOf = (p: DecodedPacket) => (p.flags ?? 0) & 0xf;

export class Forwarder {
  readonly cache: DnsCache;
  private readonly inflight = new Map<string, Promise<Reply>>();
  private readonly timeoutMs: number;
  /** Upstream exchanges made (cache misses), for tests and the benchmark. */
  sent = 0;

  constructor(private readonly opts: ForwarderOptions) {
    this.cache = opts.cache ?? new DnsCache();
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** The upstream answer to a question, from the cache when it still holds one; SERVFAIL when no server answers. */
  async resolve(q: Question): Promise<Reply> {
    const key = cacheKey(q.name, q.type, q.class);
    const cached = this.cache.get(key);
    if (cached) return cached;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.exchange(q).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async exchange(q: Question): Promise<Reply> {
    const upstreams = this.opts.upstreams();
    let last: Reply | undefined;
    for (const upstream of upstreams) {
      try {
        this.sent++;
        let reply = await this.udp(upstream, q);
        if (reply.flag_tc) reply = await this.tcp(upstream, q);
        const out: Reply = {
          rcode: rcodeOf(reply),
          answers: reply.answers ?? [],
          authorities: reply.authorities ?? [],
          additionals: (reply.additionals ?? []).filter((r) => r.type !== 'OPT'),
        };
        // A server that fails or refuses may be alone in that: ask the next (as the resolver library does).
        if (out.rcode === RCODE.SERVFAIL || out.rcode === RCODE.REFUSED) {
          last = out;
          continue;
        }
        this.cache.set(cacheKey(q.name, q.type, q.class), out);
        return out;
      } catch (err) {
        log.debug({ upstream, name: q.name, err: (err as Error).message }, 'cluster DNS: upstream did not answer');
      }
    }
    if (!upstreams.length) log.debug({ name: q.name }, 'cluster DNS: no upstream servers to forward to');
    return last ?? { rcode: RCODE.SERVFAIL, answers: [], authorities: [], additionals: [] };
  }

  private query(q: Question): { id: number; packet: Packet } {
    const id = randomInt(0, 65536);
    const packet: Packet = {
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [q],
      additionals: [ednsOpt()],
    };
    return { id, packet };
  }

  /** Whether a packet answers our question (and not a stray or spoofed one). */
  private matches(reply: DecodedPacket, id: number, q: Question): boolean {
    const rq = reply.questions?.[0];
    return (
      reply.id === id &&
      reply.flag_qr &&
      !!rq &&
      rq.type === q.type &&
      rq.name.toLowerCase().replace(/\.$/, '') === q.name.toLowerCase().replace(/\.$/, '')
    );
  }

  private udp(upstream: Upstream, q: Question): Promise<DecodedPacket> {
    const { id, packet } = this.query(q);
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(upstream.host) ? 'udp6' : 'udp4');
      const done = (err: Error | undefined, reply?: DecodedPacket) => {
        clearTimeout(timer);
        socket.close();
        if (err) reject(err);
        else resolve(reply!);
      };
      const timer = setTimeout(
        () => done(new Error(`no answer from ${upstream.host}:${upstream.port} in ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      socket.on('error', (err) => done(err));
      socket.on('message', (msg) => {
        try {
          const reply = dnsPacket.decode(msg);
          if (this.matches(reply, id, q)) done(undefined, reply);
        } catch {
          // not a DNS answer: wait for the real one
        }
      });
      // Connected, so that an ICMP "port unreachable" fails at once instead of waiting for the timeout.
      socket.connect(upstream.port, upstream.host, () => socket.send(dnsPacket.encode(packet)));
    });
  }

  private tcp(upstream: Upstream, q: Question): Promise<DecodedPacket> {
    const { id, packet } = this.query(q);
    return new Promise((resolve, reject) => {
      const conn = net.connect({ host: upstream.host, port: upstream.port });
      let buffered: Buffer = Buffer.alloc(0);
      const done = (err: Error | undefined, reply?: DecodedPacket) => {
        clearTimeout(timer);
        conn.destroy();
        if (err) reject(err);
        else resolve(reply!);
      };
      const timer = setTimeout(
        () => done(new Error(`no TCP answer from ${upstream.host}:${upstream.port} in ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      conn.on('error', (err) => done(err));
      conn.on('connect', () => conn.write(dnsPacket.streamEncode(packet)));
      conn.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + msg.length);
          try {
            const reply = dnsPacket.decode(msg);
            if (this.matches(reply, id, q)) return done(undefined, reply);
          } catch (err) {
            return done(err as Error);
          }
        }
      });
      conn.on('end', () => done(new Error(`${upstream.host}:${upstream.port} closed the TCP connection without an answer`)));
    });
  }
}

/** An EDNS0 OPT record offering our UDP payload size, nothing else. */
export const ednsOpt = (): Answer => ({
  type: 'OPT',
  name: '.',
  udpPayloadSize: EDNS_UDP_SIZE,
  extendedRcode: 0,
  ednsVersion: 0,
  flags: 0,
  flag_do: false,
  options: [],
});
