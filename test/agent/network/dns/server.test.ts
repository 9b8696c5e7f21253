// The cluster DNS server on loopback (any port, no root): zone answers are authoritative over UDP
// and TCP, other names forwarded, ExternalNames followed, big answers truncated over UDP and whole
// over TCP, and what is not a plain query refused in DNS's own terms.
import dnsPacket from 'dns-packet';
import t from 'tap';
import { RCODE } from '../../../../src/agent/network/dns/cache.js';
import { Forwarder } from '../../../../src/agent/network/dns/forwarder.js';
import { DnsHandler } from '../../../../src/agent/network/dns/handler.js';
import { ClusterRecords } from '../../../../src/agent/network/dns/records.js';
import { startDnsServer } from '../../../../src/agent/network/dns/server.js';
import { ask, startFakeUpstream } from '../../../helpers/dns.js';

const upstream = await startFakeUpstream('127.0.0.1', (q) =>
  q.name === 'www.example' && q.type === 'A'
    ? { answers: [{ type: 'A', name: q.name, ttl: 300, data: '192.0.2.80' }] }
    : { rcode: RCODE.NXDOMAIN },
);
const zone = new ClusterRecords('cluster.local', '10.43.0.10');
zone.setService({ metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '10.43.7.7' } }, []);
zone.setService({ metadata: { name: 'ext', namespace: 'shop' }, spec: { type: 'ExternalName', externalName: 'www.example' } }, []);
zone.setService(
  { metadata: { name: 'alias', namespace: 'shop' }, spec: { type: 'ExternalName', externalName: 'web.shop.svc.cluster.local' } },
  [],
);
const many = Array.from({ length: 100 }, (_, i) => ({ addresses: [`10.42.${i >> 8}.${i & 255}`], conditions: { ready: true } }));
zone.setService({ metadata: { name: 'many', namespace: 'shop' }, spec: { clusterIP: 'None' } }, [{ addressType: 'IPv4', endpoints: many }]);
const handler = new DnsHandler(zone, new Forwarder({ upstreams: () => [upstream], timeoutMs: 1000 }));
const server = await startDnsServer('127.0.0.1', 0, (msg, transport) => handler.handle(msg, transport));
t.teardown(() => Promise.all([server.close(), upstream.close()]));
const at = { host: '127.0.0.1', port: server.udpPort };
const flag = (p: any, f: number) => ((p.flags ?? 0) & f) !== 0;

t.test('cluster names: authoritative answers over UDP and TCP', async (t) => {
  for (const tcp of [false, true]) {
    const r = await ask(tcp ? { ...at, port: server.tcpPort } : at, 'web.shop.svc.cluster.local', 'A', { tcp });
    t.same(
      r.answers!.map((a: any) => a.data),
      ['10.43.7.7'],
    );
    t.ok(flag(r, dnsPacket.AUTHORITATIVE_ANSWER) && flag(r, dnsPacket.RECURSION_AVAILABLE) && flag(r, dnsPacket.RECURSION_DESIRED));
  }
  const nx = await ask(at, 'nope.shop.svc.cluster.local', 'A');
  t.equal(nx.rcode, RCODE.NXDOMAIN);
  t.same(
    nx.authorities!.map((a) => [a.type, a.name]),
    [['SOA', 'cluster.local']],
  );
  const nodata = await ask(at, 'web.shop.svc.cluster.local', 'AAAA');
  t.same([nodata.rcode, nodata.answers, nodata.authorities!.map((a) => a.type)], [RCODE.NOERROR, [], ['SOA']]);
});

t.test('other names are forwarded, not authoritative', async (t) => {
  const r = await ask(at, 'www.example', 'A');
  t.same(
    r.answers!.map((a: any) => a.data),
    ['192.0.2.80'],
  );
  t.notOk(flag(r, dnsPacket.AUTHORITATIVE_ANSWER));
  t.equal((await ask(at, 'nope.example', 'A')).rcode, RCODE.NXDOMAIN);
});

t.test('ExternalName: the CNAME and its target, upstream or in the zone', async (t) => {
  const r = await ask(at, 'ext.shop.svc.cluster.local', 'A');
  t.same(
    r.answers!.map((a: any) => `${a.name} ${a.type} ${a.data}`),
    ['ext.shop.svc.cluster.local CNAME www.example', 'www.example A 192.0.2.80'],
  );
  const alias = await ask(at, 'alias.shop.svc.cluster.local', 'A');
  t.same(
    alias.answers!.map((a: any) => `${a.type} ${a.data}`),
    ['CNAME web.shop.svc.cluster.local', 'A 10.43.7.7'],
  );
  const v6 = await ask(at, 'ext.shop.svc.cluster.local', 'AAAA');
  t.same([v6.rcode, v6.answers!.map((a: any) => a.type)], [RCODE.NXDOMAIN, ['CNAME']], "the target's code, the CNAME kept");
});

t.test('too big for UDP: truncated, whole over TCP; EDNS0 raises the UDP limit', async (t) => {
  const udp = await ask(at, 'many.shop.svc.cluster.local', 'A');
  t.ok(flag(udp, dnsPacket.TRUNCATED_RESPONSE), 'TC set');
  t.ok(udp.raw.length <= 512 && udp.answers!.length > 5, `as many answers as fit in 512 bytes (${udp.answers!.length})`);
  const tcp = await ask({ ...at, port: server.tcpPort }, 'many.shop.svc.cluster.local', 'A', { tcp: true });
  t.equal(tcp.answers!.length, 100);
  t.notOk(flag(tcp, dnsPacket.TRUNCATED_RESPONSE));
  // 100 A records take about 4 KB: over 512 and 1232 alike.
  const big = await ask(at, 'many.shop.svc.cluster.local', 'A', { edns: 4096 });
  t.ok(flag(big, dnsPacket.TRUNCATED_RESPONSE) && big.raw.length <= 1232, 'EDNS0 answers stay within 1232 bytes');
  t.ok(big.answers!.length > udp.answers!.length, `more of them than without EDNS0 (${big.answers!.length})`);
  t.ok(
    big.additionals!.some((a) => a.type === 'OPT'),
    'an EDNS0 question gets an OPT back',
  );
});

t.test('not a plain one-question query: NOTIMP, FORMERR', async (t) => {
  t.equal((await ask(at, 'web.shop.svc.cluster.local', 'A', { flags: 2 << 11 })).rcode, RCODE.NOTIMP, 'opcode STATUS');
  const two = [
    { name: 'a.example', type: 'A' as const },
    { name: 'b.example', type: 'A' as const },
  ];
  t.equal((await ask(at, 'x', 'A', { questions: two })).rcode, RCODE.FORMERR);
});
