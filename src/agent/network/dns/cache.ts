// A small cache of upstream answers, keyed by question, honouring TTLs: an answer lives as long as its
// shortest record, a negative one (NXDOMAIN, or NOERROR with no answer) as long as its SOA's TTL or
// minimum, whichever is smaller (RFC 2308), and one without an SOA not at all; failures are never
// kept. Served copies have their TTLs counted down. Full, it drops the entries least recently used.
import type { Answer } from 'dns-packet';

export interface Reply {
  rcode: number;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Longest an answer is kept, whatever its TTL (CoreDNS's cache: an hour; denials half an hour). */
const MAX_TTL = 3600;
const MAX_NEGATIVE_TTL = 1800;

export const cacheKey = (name: string, type: string, klass = 'IN') => `${name.toLowerCase().replace(/\.$/, '')}|${type}|${klass}`;

const ttlOf = (r: Answer) => ('ttl' in r && r.ttl !== undefined ? r.ttl : 0);

/** How long a reply may be kept, in seconds (0: not at all). */
export function cacheSeconds(reply: Reply): number {
  if (reply.rcode !== RCODE.NOERROR && reply.rcode !== RCODE.NXDOMAIN) return 0;
  const records = [...reply.answers, ...reply.authorities, ...reply.additionals].filter((r) => r.type !== 'OPT');
  if (reply.rcode === RCODE.NOERROR && reply.answers.length) return Math.min(MAX_TTL, ...records.map(ttlOf));
  const soa = reply.authorities.find((r) => r.type === 'SOA');
  if (soa?.type !== 'SOA') return 0;
  return Math.min(MAX_NEGATIVE_TTL, ttlOf(soa), soa.data.minimum ?? 0);
}

export class DnsCache {
  private readonly entries = new Map<string, { reply: Reply; storedAt: number; expires: number }>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Reply | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const now = this.now();
    if (now >= e.expires) {
      this.entries.delete(key);
      return undefined;
    }
    // Least recently used goes first: a hit moves to the back.
    this.entries.delete(key);
    this.entries.set(key, e);
    const elapsed = Math.floor((now - e.storedAt) / 1000);
    // Spelled out rather than spread: this runs for every record of every cached answer served.
    const age = (list: Answer[]) =>
      list.map((r) =>
        r.type === 'OPT'
          ? r
          : ({ name: r.name, type: r.type, class: r.class, ttl: Math.max(0, ttlOf(r) - elapsed), data: r.data } as Answer),
      );
    return {
      rcode: e.reply.rcode,
      answers: age(e.reply.answers),
      authorities: age(e.reply.authorities),
      additionals: age(e.reply.additionals),
    };
  }

  /** Keeps a reply for as long as cacheSeconds allows; answers that time. */
  set(key: string, reply: Reply): number {
    const seconds = cacheSeconds(reply);
    if (seconds <= 0) return 0;
    const now = this.now();
    this.entries.delete(key);
    this.entries.set(key, { reply, storedAt: now, expires: now + seconds * 1000 });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return seconds;
  }
}
