// One DNS message in, one out: names of the cluster zone are answered from its records
// (authoritatively), ExternalName CNAMEs are followed for the type asked, everything else is
// forwarded. A UDP answer larger than the client can take (512 bytes, or what its EDNS0 record
// offers, up to 1232) goes back with the answers that fit and TC set, so that the client asks again
// over TCP.
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import { RCODE, type Reply } from './cache.js';
import { EDNS_UDP_SIZE, ednsOpt, type Forwarder } from './forwarder.js';
import type { ClusterRecords, ZoneAnswer } from './records.js';

/** The longest CNAME chain followed (ExternalName to ExternalName ...), as resolvers bound it. */
const MAX_CHASE = 8;
const UDP_MIN = 512;

export type Transport = 'udp' | 'tcp';

const zoneRcode = (a: ZoneAnswer) => (a.rcode === 'NXDOMAIN' ? RCODE.NXDOMAIN : RCODE.NOERROR);

export class DnsHandler {
  constructor(
    private readonly zone: ClusterRecords,
    private readonly forwarder: Forwarder,
  ) {}

  /** The answer to a message, or undefined for what deserves none (not a query, not DNS). */
  async handle(msg: Buffer, transport: Transport): Promise<Buffer | undefined> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined; // not a DNS message we can read: no answer, as for noise
    }
    if (query.flag_qr) return undefined;
    const opcode = ((query.flags ?? 0) >> 11) & 0xf;
    const q = query.questions?.[0];
    const edns = query.additionals?.find((r) => r.type === 'OPT');
    const limit =
      transport === 'tcp' ? 65535 : Math.max(UDP_MIN, Math.min(edns && 'udpPayloadSize' in edns ? edns.udpPayloadSize : 0, EDNS_UDP_SIZE));
    const respond = (reply: Reply, authoritative: boolean) => this.encode(query, reply, authoritative, !!edns, limit);
    if (opcode !== 0) return respond(empty(RCODE.NOTIMP), false);
    if (!q || query.questions!.length !== 1) return respond(empty(RCODE.FORMERR), false);
    if ((q.class ?? 'IN') === 'IN') {
      const local = this.zone.lookup(q.name, q.type);
      if (local) return respond(await this.chase(local, q), true);
    }
    return respond(await this.forwarder.resolve(q), false);
  }

  /** A zone answer, with an ExternalName's target resolved (in the zone or upstream) and appended. */
  private async chase(first: ZoneAnswer, q: Question): Promise<Reply> {
    const answers = [...first.answers];
    let reply: Reply = { rcode: zoneRcode(first), answers, authorities: first.authorities, additionals: first.additionals };
    let target = first.chase;
    for (let hops = 0; target && hops < MAX_CHASE; hops++) {
      const next = { name: target, type: q.type, class: q.class ?? 'IN' } as Question;
      const local = this.zone.lookup(next.name, next.type);
      let got: Reply;
      if (local) {
        got = { rcode: zoneRcode(local), answers: local.answers, authorities: local.authorities, additionals: local.additionals };
        target = local.chase;
      } else {
        got = await this.forwarder.resolve(next);
        target = undefined;
      }
      answers.push(...got.answers);
      // The chain's last name decides the code (RFC 6604); a target nobody answers still leaves the CNAME.
      reply = { rcode: got.rcode === RCODE.SERVFAIL ? RCODE.NOERROR : got.rcode, answers, authorities: got.authorities, additionals: [] };
    }
    return reply;
  }

  private encode(query: DecodedPacket, reply: Reply, authoritative: boolean, edns: boolean, limit: number): Buffer {
    const flags =
      ((query.flags ?? 0) & (dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED)) |
      dnsPacket.RECURSION_AVAILABLE |
      (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
      reply.rcode;
    const opt: Answer[] = edns ? [ednsOpt()] : [];
    const packet: Packet = {
      type: 'response',
      id: query.id,
      flags,
      questions: query.questions,
      answers: reply.answers,
      authorities: reply.authorities,
      additionals: [...reply.additionals, ...opt],
    };
    const full = dnsPacket.encode(packet);
    if (full.length <= limit) return full;
    // Too big for the client's UDP buffer. Extra records may go without a word; then answers go, as
    // many kept as fit (resolvers without TCP, musl's among them, use them), with TC set.
    const lean = { ...packet, additionals: opt };
    if (dnsPacket.encodingLength(lean) <= limit) return dnsPacket.encode(lean);
    const answers = reply.answers;
    let lo = 0;
    let hi = answers.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (dnsPacket.encodingLength({ ...lean, answers: answers.slice(0, mid), authorities: [] }) <= limit) lo = mid;
      else hi = mid - 1;
    }
    return dnsPacket.encode({ ...lean, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: answers.slice(0, lo), authorities: [] });
  }
}

const empty = (rcode: number): Reply => ({ rcode, answers: [], authorities: [], additionals: [] });
