// The forwarder and its cache against fake upstream servers on loopback: TTLs honoured and counted
// down, negative answers kept for the SOA minimum, failures never kept, the next server after a
// timeout or a refusal, TCP after truncation, one upstream question for many identical ones.
import t, { type Test } from 'tap';
import { cacheSeconds, DnsCache, RCODE } from '../../../../src/agent/network/dns/cache.js';
import { Forwarder, type Upstream } from '../../../../src/agent/network/dns/forwarder.js';
import { freePort } from '../../../helpers/cluster.js';
import { startFakeUpstream, type UpstreamReply } from '../../../helpers/dns.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import type { Question } from 'dns-packet';

const a = (name: string, ip: string, ttl: number) => ({ type: 'A' as const, name, ttl, data: ip });
const soa = (ttl: number, minimum: number) => ({
  type: 'SOA' as const,
  name: 'example',
  ttl,
  data: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum },
});

/** Answers by name: www (A, TTL 30), gone (NXDOMAIN, SOA 60/10), v6only (NODATA), nosoa (NXDOMAIN, no SOA), broken (SERVFAIL). */
function byName({ name }: Question): UpstreamReply {
  switch (name) {
    case 'www.example':
      return { answers: [a(name, '192.0.2.80', 30)] };
    case 'gone.example':
      return { rcode: RCODE.NXDOMAIN, authorities: [soa(60, 10)] };
    case 'v6only.example':
      return { authorities: [soa(20, 300)] };
    case 'nosoa.example':
      return { rcode: RCODE.NXDOMAIN };
    case 'big.example':
      return { truncate: true, answers: Array.from({ length: 60 }, (_, i) => a(name, `192.0.2.${i + 1}`, 30)) };
    default:
      return { rcode: RCODE.SERVFAIL };
  }
}

async function setup(t: Test, reply = byName) {
  const upstream = await startFakeUpstream('127.0.0.1', reply);
  t.teardown(() => upstream.close());
  const clock = new ManualClock();
  const forwarder = new Forwarder({ upstreams: () => [upstream], cache: new DnsCache(100, () => clock.now()), timeoutMs: 500 });
  return { upstream, clock, forwarder };
}

t.test('a positive answer is kept for its TTL, counted down, then asked again', async (t) => {
  const { upstream, clock, forwarder } = await setup(t);
  const q = { name: 'www.example', type: 'A' as const };
  t.same(
    (await forwarder.resolve(q)).answers.map((r: any) => [r.data, r.ttl]),
    [['192.0.2.80', 30]],
  );
  clock.advance(12_000);
  t.same(
    (await forwarder.resolve({ ...q, name: 'WWW.Example.' })).answers.map((r: any) => r.ttl),
    [18],
    'from the cache, any case, 12 s older',
  );
  t.equal(upstream.asked.length, 1);
  clock.advance(18_000);
  t.same(
    (await forwarder.resolve(q)).answers.map((r: any) => r.ttl),
    [30],
  );
  t.equal(upstream.asked.length, 2, 'expired: asked again');
});

t.test('negative answers are kept for min(SOA TTL, SOA minimum); without an SOA or on failure, not at all', async (t) => {
  const { upstream, clock, forwarder } = await setup(t);
  const gone = { name: 'gone.example', type: 'A' as const };
  t.equal((await forwarder.resolve(gone)).rcode, RCODE.NXDOMAIN);
  clock.advance(9_000);
  t.equal((await forwarder.resolve(gone)).rcode, RCODE.NXDOMAIN);
  t.equal(upstream.asked.length, 1, 'NXDOMAIN kept for the SOA minimum (10 s)');
  clock.advance(1_000);
  await forwarder.resolve(gone);
  t.equal(upstream.asked.length, 2);

  const nodata = { name: 'v6only.example', type: 'AAAA' as const };
  const first = await forwarder.resolve(nodata);
  t.same([first.rcode, first.answers], [RCODE.NOERROR, []]);
  clock.advance(19_000);
  await forwarder.resolve(nodata);
  t.equal(upstream.asked.length, 3, 'NODATA kept for the SOA TTL (20 s, under its minimum)');

  await forwarder.resolve({ name: 'nosoa.example', type: 'A' });
  await forwarder.resolve({ name: 'nosoa.example', type: 'A' });
  t.equal(upstream.asked.length, 5, 'a negative answer without an SOA is not kept');
  t.equal((await forwarder.resolve({ name: 'broken.example', type: 'A' })).rcode, RCODE.SERVFAIL);
  await forwarder.resolve({ name: 'broken.example', type: 'A' });
  t.equal(upstream.asked.length, 7, 'SERVFAIL is not kept');
});

t.test('cacheSeconds and the cache size bound', async (t) => {
  t.equal(cacheSeconds({ rcode: 0, answers: [a('x', '192.0.2.1', 30), a('x', '192.0.2.2', 7)], authorities: [], additionals: [] }), 7);
  t.equal(cacheSeconds({ rcode: 0, answers: [a('x', '192.0.2.1', 999_999)], authorities: [], additionals: [] }), 3600, 'at most an hour');
  t.equal(cacheSeconds({ rcode: RCODE.REFUSED, answers: [], authorities: [soa(60, 60)], additionals: [] }), 0);
  const cache = new DnsCache(2);
  const reply = { rcode: 0, answers: [a('x', '192.0.2.1', 30)], authorities: [], additionals: [] };
  cache.set('a', reply);
  cache.set('b', reply);
  cache.get('a');
  cache.set('c', reply);
  t.same([!!cache.get('a'), !!cache.get('b'), !!cache.get('c'), cache.size], [true, false, true, 2], 'the least recently used goes');
});

t.test('a server that does not answer in time, or refuses, or fails: the next one is asked', async (t) => {
  const silent = await startFakeUpstream('127.0.0.1', () => ({ silent: true }));
  const failing = await startFakeUpstream('127.0.0.1', () => ({ rcode: RCODE.SERVFAIL }));
  const good = await startFakeUpstream('127.0.0.1', byName);
  t.teardown(() => Promise.all([silent.close(), failing.close(), good.close()]));
  const closed: Upstream = { host: '127.0.0.1', port: await freePort() };
  const forwarder = new Forwarder({ upstreams: () => [closed, silent, failing, good], timeoutMs: 300 });
  const reply = await forwarder.resolve({ name: 'www.example', type: 'A' });
  t.same(
    reply.answers.map((r: any) => r.data),
    ['192.0.2.80'],
  );
  t.same([silent.asked.length, failing.asked.length, good.asked.length], [1, 1, 1], 'each asked once, in order');
  const none = new Forwarder({ upstreams: () => [closed], timeoutMs: 300 });
  t.equal((await none.resolve({ name: 'www.example', type: 'A' })).rcode, RCODE.SERVFAIL, 'nobody answers: SERVFAIL');
  t.equal((await new Forwarder({ upstreams: () => [] }).resolve({ name: 'www.example', type: 'A' })).rcode, RCODE.SERVFAIL);
});

t.test('a truncated UDP answer is asked again over TCP', async (t) => {
  const { upstream, forwarder } = await setup(t);
  const reply = await forwarder.resolve({ name: 'big.example', type: 'A' });
  t.equal(reply.answers.length, 60);
  t.same(upstream.asked, ['udp big.example A', 'tcp big.example A']);
});

t.test('the same question asked many times at once goes upstream once', async (t) => {
  const { upstream, forwarder } = await setup(t);
  const replies = await Promise.all(Array.from({ length: 20 }, () => forwarder.resolve({ name: 'www.example', type: 'A' })));
  t.ok(replies.every((r) => r.answers.length === 1));
  t.equal(upstream.asked.length, 1);
});
