// The cluster's DNS zone, as the Kubernetes DNS specification (schema 1.0.1) and CoreDNS's
// kubernetes plugin with `pods insecure` answer it, built from Services and their EndpointSlices:
//   <svc>.<ns>.svc.<zone>             A      the ClusterIP, or each ready endpoint of a headless Service
//                                     CNAME  an ExternalName Service's name
//   <host>.<svc>.<ns>.svc.<zone>      A      each ready endpoint, by its hostname (pods with hostname +
//                                            subdomain) or else its dashed address (10-42-0-5)
//   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV  named ports: to the Service's name and port, or for a
//                                            headless Service to each ready endpoint's name and port
//   <d>.<c>.<b>.<a>.in-addr.arpa      PTR    ClusterIPs to their Service, endpoint IPs to their names
//   <a-b-c-d>.<ns>.pod.<zone>         A      any address (`pods insecure`)
//   dns-version.<zone>                TXT    the schema version; the zone's SOA and NS at its apex
// A name in the zone that does not exist is NXDOMAIN, an existing one (or a name above one, e.g.
// <ns>.svc.<zone>) asked for another type is NODATA; both carry the zone's SOA for negative caching.
// Each Service's records are kept apart so that a change re-indexes that Service only, and a lookup
// is a map access by lower-cased name (comparisons are case-insensitive; answers echo the question).
import type { Answer, SoaAnswer, SrvData } from 'dns-packet';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Writable } from '../../../client/resources.js';

/** Seconds every cluster record (and a negative answer, through the SOA minimum) may be cached: CoreDNS's default. */
export const TTL = 5;
/** The schema version this zone implements (dns-version.<zone>). */
export const SCHEMA_VERSION = '1.0.1';

/** A record without its owner name: answers take the name as asked. */
export type Rec = { type: 'A' | 'PTR' | 'CNAME' | 'NS' | 'TXT'; ttl: number; data: string } | { type: 'SRV'; ttl: number; data: SrvData };

export interface ZoneAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** An ExternalName's target, still to be resolved for the type asked (the server does, and appends it). */
  chase?: string;
}

type Svc = Writable<Service>;
type Slice = Writable<EndpointSlice>;

/** The owner key of the records every zone has (apex SOA and NS, dns-version, the name server). */
const STATIC = '';
const NONE: Rec[] = [];

/** A record under a name. Spelled out: an object spread with an extra key costs V8 far more, on every answer. */
const named = (r: Rec, name: string) => ({ name, type: r.type, ttl: r.ttl, data: r.data }) as Answer;

export const normalize = (name: string): string => {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
};

export const reverseName = (ip: string): string => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const isIPv4 = (s: string) => IPV4.test(s);

export class ClusterRecords {
  readonly zone: string;
  private readonly zoneSuffix: string;
  private readonly podSuffix: string;
  /** name -> owner (a Service's key, or STATIC) -> its records at that name. */
  private readonly records = new Map<string, Map<string, Rec[]>>();
  /** name -> every owner's records at that name, together (what lookups read). */
  private readonly merged = new Map<string, Rec[]>();
  /** Names that exist (have records, or are above a name that has): how many owners make each exist. */
  private readonly existing = new Map<string, number>();
  /** What each owner put in: its record names, and every name it makes exist. */
  private readonly owned = new Map<string, { names: string[]; exists: string[] }>();
  private serial = Math.floor(Date.now() / 1000);

  /** `dnsIP`: the cluster DNS address, ns.dns.<zone>. */
  constructor(domain: string, dnsIP: string) {
    this.zone = normalize(domain);
    this.zoneSuffix = `.${this.zone}`;
    this.podSuffix = `.pod.${this.zone}`;
    const ns = `ns.dns.${this.zone}`;
    this.put(
      STATIC,
      new Map<string, Rec[]>([
        [this.zone, [{ type: 'NS', ttl: TTL, data: ns }]],
        [ns, [{ type: 'A', ttl: TTL, data: dnsIP }]],
        [`dns-version.${this.zone}`, [{ type: 'TXT', ttl: TTL, data: SCHEMA_VERSION }]],
        // Empty, but there: the parents of the names a lookup may ask for.
        [`svc.${this.zone}`, []],
        [`pod.${this.zone}`, []],
      ]),
    );
  }

  /** The zone's SOA, as the apex answer and the authority of negative answers. */
  soa(): SoaAnswer {
    return {
      name: this.zone,
      type: 'SOA',
      ttl: TTL,
      data: {
        mname: `ns.dns.${this.zone}`,
        rname: `hostmaster.${this.zone}`,
        serial: this.serial,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: TTL,
      },
    };
  }

  /** Whether a name is ours to answer: the cluster domain, and reverse names we hold a PTR for. */
  inZone(name: string): boolean {
    return this.isZoneName(normalize(name));
  }

  private isZoneName(n: string): boolean {
    return n === this.zone || n.endsWith(this.zoneSuffix);
  }

  /** Sets (replaces) what a Service and its EndpointSlices publish. */
  setService(svc: Svc, slices: Slice[]): void {
    const key = `${svc.metadata!.namespace}/${svc.metadata!.name}`;
    this.put(key, this.serviceRecords(svc, slices));
  }

  deleteService(key: string): void {
    this.put(key, new Map());
  }

  /** Answers a question, or undefined when the name is not ours (to be forwarded). */
  lookup(qname: string, qtype: string): ZoneAnswer | undefined {
    const name = normalize(qname);
    if (!this.isZoneName(name)) return this.reverse(qname, name, qtype);
    if (name === this.zone && (qtype === 'SOA' || qtype === 'ANY'))
      return { ...this.noData(), answers: [{ ...this.soa(), name: qname }], authorities: [] };
    const pod = this.podAddress(name);
    const recs: Rec[] = pod ? [{ type: 'A', ttl: TTL, data: pod }] : (this.merged.get(name) ?? NONE);
    if (!recs.length && !this.existing.has(name)) return { rcode: 'NXDOMAIN', answers: [], authorities: [this.soa()], additionals: [] };
    // Plain loops: this is the path every question takes.
    const answers: Answer[] = [];
    let srv = false;
    for (const r of recs) {
      if (r.type === 'CNAME' && qtype !== 'CNAME')
        return { rcode: 'NOERROR', answers: [named(r, qname)], authorities: [], additionals: [], chase: r.data };
      if (qtype !== 'ANY' && r.type !== qtype) continue;
      answers.push(named(r, qname));
      if (r.type === 'SRV') srv = true;
    }
    if (!answers.length) return this.noData();
    return { rcode: 'NOERROR', answers, authorities: [], additionals: srv ? this.additionals(answers) : [] };
  }

  private noData(): ZoneAnswer {
    return { rcode: 'NOERROR', answers: [], authorities: [this.soa()], additionals: [] };
  }

  /** PTRs we hold; any other reverse question (or any type but PTR) goes upstream, as CoreDNS's fallthrough. */
  private reverse(qname: string, name: string, qtype: string): ZoneAnswer | undefined {
    if (qtype !== 'PTR' || !name.endsWith('.in-addr.arpa')) return undefined;
    const ptrs = this.at(name).filter((r) => r.type === 'PTR');
    if (!ptrs.length) return undefined;
    return { rcode: 'NOERROR', answers: ptrs.map((r) => named(r, qname)), authorities: [], additionals: [] };
  }

  /** The A records of SRV targets, so that a client needs no second question. */
  private additionals(answers: Answer[]): Answer[] {
    const out: Answer[] = [];
    const seen = new Set<string>();
    for (const a of answers) {
      if (a.type !== 'SRV' || seen.has(a.data.target)) continue;
      seen.add(a.data.target);
      for (const r of this.at(a.data.target)) if (r.type === 'A') out.push(named(r, a.data.target));
    }
    return out;
  }

  /** `<a-b-c-d>.<ns>.pod.<zone>`: the address it spells. */
  private podAddress(name: string): string | undefined {
    if (!name.endsWith(this.podSuffix)) return undefined;
    const labels = name.slice(0, -this.zone.length - 1).split('.');
    if (labels.length !== 3 || labels[2] !== 'pod') return undefined;
    const ip = labels[0]!.replaceAll('-', '.');
    return isIPv4(ip) ? ip : undefined;
  }

  private at(name: string): Rec[] {
    return this.merged.get(name) ?? NONE;
  }

  /** Replaces an owner's records, keeping the name index and the existing names in step. */
  private put(owner: string, recs: Map<string, Rec[]>): void {
    const before = this.owned.get(owner);
    const touched = new Set<string>(before?.names);
    for (const name of before?.names ?? []) {
      const owners = this.records.get(name)!;
      owners.delete(owner);
      if (!owners.size) this.records.delete(name);
    }
    for (const name of before?.exists ?? []) {
      const n = this.existing.get(name)! - 1;
      if (n) this.existing.set(name, n);
      else this.existing.delete(name);
    }
    this.serial++;
    if (!recs.size) {
      this.owned.delete(owner);
      this.merge(touched);
      return;
    }
    const exists = new Set<string>();
    for (const [name, list] of recs) {
      if (list.length) {
        let owners = this.records.get(name);
        if (!owners) this.records.set(name, (owners = new Map()));
        owners.set(owner, list);
        touched.add(name);
      }
      // The name and every name above it, up to the zone (reverse names exist only as themselves).
      if (!this.isZoneName(name)) continue;
      for (let n = name; n !== this.zone && !exists.has(n); n = n.slice(n.indexOf('.') + 1)) exists.add(n);
    }
    for (const name of exists) this.existing.set(name, (this.existing.get(name) ?? 0) + 1);
    this.owned.set(owner, { names: [...recs.keys()].filter((n) => recs.get(n)!.length), exists: [...exists] });
    this.merge(touched);
  }

  private merge(names: Iterable<string>): void {
    for (const name of names) {
      const owners = this.records.get(name);
      if (!owners) this.merged.delete(name);
      else this.merged.set(name, owners.size === 1 ? owners.values().next().value! : [...owners.values()].flat());
    }
  }

  private serviceRecords(svc: Svc, slices: Slice[]): Map<string, Rec[]> {
    const out = new Map<string, Rec[]>();
    const add = (name: string, rec: Rec) => {
      const list = out.get(name);
      if (list) list.push(rec);
      else out.set(name, [rec]);
    };
    const ns = svc.metadata!.namespace!;
    const base = `${svc.metadata!.name}.${ns}.svc.${this.zone}`;
    const spec = svc.spec ?? {};
    if (spec.type === 'ExternalName') {
      if (spec.externalName) add(base, { type: 'CNAME', ttl: TTL, data: normalize(spec.externalName) });
      return out;
    }
    const headless = spec.clusterIP === 'None';
    const clusterIP = !headless && spec.clusterIP && isIPv4(spec.clusterIP) ? spec.clusterIP : undefined;
    if (clusterIP) {
      add(base, { type: 'A', ttl: TTL, data: clusterIP });
      add(reverseName(clusterIP), { type: 'PTR', ttl: TTL, data: base });
      for (const p of spec.ports ?? [])
        if (p.name)
          add(srvName(p.name, p.protocol, base), { type: 'SRV', ttl: TTL, data: { priority: 0, weight: 100, port: p.port, target: base } });
    }
    // Ready endpoints, once per address (slices may overlap while they are being rewritten).
    const endpoints = new Map<string, { host: string; ports: Slice['ports'] }>();
    for (const slice of slices) {
      if (slice.addressType !== 'IPv4') continue;
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false && !spec.publishNotReadyAddresses) continue;
        for (const ip of ep.addresses ?? [])
          if (isIPv4(ip) && !endpoints.has(ip)) endpoints.set(ip, { host: ep.hostname ?? ip.replaceAll('.', '-'), ports: slice.ports });
      }
    }
    const srvTargets = new Map<string, { name: string; port: number; target: string }[]>();
    for (const [ip, { host, ports }] of endpoints) {
      const name = `${host}.${base}`;
      add(name, { type: 'A', ttl: TTL, data: ip });
      add(reverseName(ip), { type: 'PTR', ttl: TTL, data: name });
      if (!headless) continue;
      add(base, { type: 'A', ttl: TTL, data: ip });
      for (const p of ports ?? [])
        if (p.name && p.port !== undefined) {
          const srv = srvName(p.name, p.protocol, base);
          let list = srvTargets.get(srv);
          if (!list) srvTargets.set(srv, (list = []));
          list.push({ name: srv, port: p.port, target: name });
        }
    }
    for (const [srv, list] of srvTargets) {
      const weight = Math.max(1, Math.floor(100 / list.length));
      for (const t of list) add(srv, { type: 'SRV', ttl: TTL, data: { priority: 0, weight, port: t.port, target: t.target } });
    }
    return out;
  }
}

const srvName = (port: string, protocol: string | undefined, base: string) => `_${port}._${(protocol ?? 'TCP').toLowerCase()}.${base}`;
