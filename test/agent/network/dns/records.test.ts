// The cluster zone (records.ts) from Service and EndpointSlice snapshots, record type by record type
// as the Kubernetes DNS specification lists them, with NXDOMAIN and NODATA carrying the zone's SOA.
import t from 'tap';
import { ClusterRecords, SCHEMA_VERSION, TTL } from '../../../../src/agent/network/dns/records.js';

const svc = (name: string, spec: Record<string, unknown>, namespace = 'shop') => ({ metadata: { name, namespace }, spec }) as any;
const slice = (endpoints: any[], ports: any[] = []) => ({ addressType: 'IPv4', endpoints, ports }) as any;
const ep = (ip: string, extra: Record<string, unknown> = {}) => ({ addresses: [ip], conditions: { ready: true }, ...extra });

function zone(): ClusterRecords {
  const z = new ClusterRecords('cluster.local', '10.43.0.10');
  z.setService(
    svc('web', {
      clusterIP: '10.43.7.7',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { port: 81, protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    }),
    [slice([ep('10.42.0.5'), ep('10.42.1.6', { conditions: { ready: false } })], [{ name: 'http', port: 8080, protocol: 'TCP' }])],
  );
  z.setService(svc('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }), [
    slice(
      [
        ep('10.42.0.7', { hostname: 'db-0' }),
        ep('10.42.1.8', { hostname: 'db-1' }),
        ep('10.42.1.9'),
        ep('10.42.1.10', { hostname: 'db-2', conditions: { ready: false } }),
      ],
      [{ name: 'pg', port: 5433, protocol: 'TCP' }],
    ),
  ]);
  z.setService(svc('empty', { clusterIP: 'None' }), [slice([])]);
  z.setService(svc('ext', { type: 'ExternalName', externalName: 'Upstream.Example.' }), []);
  return z;
}

const data = (answer: any) => answer.answers.map((a: any) => a.data);

t.test('a ClusterIP Service: A to its address, SRV for named ports to its own name, PTR back', async (t) => {
  const z = zone();
  const a = z.lookup('web.shop.svc.cluster.local', 'A')!;
  t.same(a, {
    rcode: 'NOERROR',
    answers: [{ name: 'web.shop.svc.cluster.local', type: 'A', ttl: TTL, data: '10.43.7.7' }],
    authorities: [],
    additionals: [],
  });
  const srv = z.lookup('_http._tcp.web.shop.svc.cluster.local', 'SRV')!;
  t.same(
    data(srv),
    [{ priority: 0, weight: 100, port: 80, target: 'web.shop.svc.cluster.local' }],
    'the Service port, not the endpoint one',
  );
  t.same(
    srv.additionals,
    [{ name: 'web.shop.svc.cluster.local', type: 'A', ttl: TTL, data: '10.43.7.7' }],
    'the target address comes along',
  );
  t.same(data(z.lookup('_dns._udp.web.shop.svc.cluster.local', 'SRV')!), [
    { priority: 0, weight: 100, port: 53, target: 'web.shop.svc.cluster.local' },
  ]);
  t.equal(z.lookup('_dns._tcp.web.shop.svc.cluster.local', 'SRV')!.rcode, 'NXDOMAIN', 'the protocol is part of the name');
  t.same(data(z.lookup('7.7.43.10.in-addr.arpa', 'PTR')!), ['web.shop.svc.cluster.local']);
  t.same(data(z.lookup('10-42-0-5.web.shop.svc.cluster.local', 'A')!), ['10.42.0.5'], "an endpoint's own name (as CoreDNS)");
  t.same(data(z.lookup('5.0.42.10.in-addr.arpa', 'PTR')!), ['10-42-0-5.web.shop.svc.cluster.local']);
  t.equal(z.lookup('10-42-1-6.web.shop.svc.cluster.local', 'A')!.rcode, 'NXDOMAIN', 'not-ready endpoints have no name');
});

t.test('a headless Service: A for each ready endpoint, hostnames, SRV to each endpoint, PTR', async (t) => {
  const z = zone();
  t.same(data(z.lookup('db.shop.svc.cluster.local', 'A')!).sort(), ['10.42.0.7', '10.42.1.8', '10.42.1.9']);
  t.same(data(z.lookup('db-0.db.shop.svc.cluster.local', 'A')!), ['10.42.0.7'], '<hostname>.<subdomain>');
  t.same(data(z.lookup('10-42-1-9.db.shop.svc.cluster.local', 'A')!), ['10.42.1.9'], 'no hostname: the dashed address');
  t.equal(z.lookup('db-2.db.shop.svc.cluster.local', 'A')!.rcode, 'NXDOMAIN', 'not ready');
  const srv = z.lookup('_pg._tcp.db.shop.svc.cluster.local', 'SRV')!;
  t.same(
    data(srv).map((d: any) => `${d.port} ${d.target}`),
    ['5433 db-0.db.shop.svc.cluster.local', '5433 db-1.db.shop.svc.cluster.local', '5433 10-42-1-9.db.shop.svc.cluster.local'],
    "the endpoints' port and names",
  );
  t.same(srv.additionals.map((a: any) => `${a.name} ${a.data}`).sort(), [
    '10-42-1-9.db.shop.svc.cluster.local 10.42.1.9',
    'db-0.db.shop.svc.cluster.local 10.42.0.7',
    'db-1.db.shop.svc.cluster.local 10.42.1.8',
  ]);
  t.same(data(z.lookup('8.1.42.10.in-addr.arpa', 'PTR')!), ['db-1.db.shop.svc.cluster.local']);
  t.same(z.lookup('empty.shop.svc.cluster.local', 'A')!.rcode, 'NXDOMAIN', 'no ready endpoints: NXDOMAIN, as the specification says');
});

t.test('publishNotReadyAddresses publishes not-ready endpoints too', async (t) => {
  const z = new ClusterRecords('cluster.local', '10.43.0.10');
  z.setService(svc('peers', { clusterIP: 'None', publishNotReadyAddresses: true }), [
    slice([ep('10.42.0.1', { conditions: { ready: false } })]),
  ]);
  t.same(data(z.lookup('peers.shop.svc.cluster.local', 'A')!), ['10.42.0.1']);
});

t.test('ExternalName: a CNAME, to be chased for the type asked', async (t) => {
  const z = zone();
  t.same(z.lookup('ext.shop.svc.cluster.local', 'A'), {
    rcode: 'NOERROR',
    answers: [{ name: 'ext.shop.svc.cluster.local', type: 'CNAME', ttl: TTL, data: 'upstream.example' }],
    authorities: [],
    additionals: [],
    chase: 'upstream.example',
  });
  t.same(data(z.lookup('ext.shop.svc.cluster.local', 'CNAME')!), ['upstream.example']);
  t.notOk(z.lookup('ext.shop.svc.cluster.local', 'CNAME')!.chase, 'a CNAME question is answered by the CNAME itself');
});

t.test('pod records: <a-b-c-d>.<ns>.pod.<zone> for any address (pods insecure)', async (t) => {
  const z = zone();
  t.same(data(z.lookup('10-42-3-4.anything.pod.cluster.local', 'A')!), ['10.42.3.4']);
  t.equal(z.lookup('10-42-3-4.anything.pod.cluster.local', 'AAAA')!.rcode, 'NOERROR');
  t.equal(z.lookup('10-42-3-400.anything.pod.cluster.local', 'A')!.rcode, 'NXDOMAIN');
  t.equal(z.lookup('10-42-3-4.pod.cluster.local', 'A')!.rcode, 'NXDOMAIN');
});

t.test('NXDOMAIN and NODATA carry the zone SOA; names above records exist', async (t) => {
  const z = zone();
  const nx = z.lookup('nope.shop.svc.cluster.local', 'A')!;
  t.equal(nx.rcode, 'NXDOMAIN');
  t.same(nx.answers, []);
  t.match(nx.authorities, [
    {
      name: 'cluster.local',
      type: 'SOA',
      data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', minimum: TTL },
    },
  ]);
  const nodata = z.lookup('web.shop.svc.cluster.local', 'AAAA')!;
  t.equal(nodata.rcode, 'NOERROR');
  t.same(nodata.answers, []);
  t.match(nodata.authorities, [{ type: 'SOA', name: 'cluster.local' }]);
  for (const name of ['shop.svc.cluster.local', 'svc.cluster.local', '_tcp.web.shop.svc.cluster.local'])
    t.same([z.lookup(name, 'A')!.rcode, z.lookup(name, 'A')!.answers], ['NOERROR', []], `${name} exists, empty`);
  t.equal(z.lookup('other.svc.cluster.local', 'A')!.rcode, 'NXDOMAIN', 'a namespace with no Services');
  t.equal(z.lookup('cluster.local', 'SOA')!.answers[0]!.type, 'SOA');
  t.same(data(z.lookup('cluster.local', 'NS')!), ['ns.dns.cluster.local']);
  t.same(data(z.lookup('ns.dns.cluster.local', 'A')!), ['10.43.0.10']);
  t.same(data(z.lookup('dns-version.cluster.local', 'TXT')!), [SCHEMA_VERSION]);
});

t.test('case-insensitive: any case finds the record, and the answer echoes the name as asked', async (t) => {
  const z = zone();
  const a = z.lookup('WEB.Shop.SVC.Cluster.Local.', 'A')!;
  t.same(a.answers, [{ name: 'WEB.Shop.SVC.Cluster.Local.', type: 'A', ttl: TTL, data: '10.43.7.7' }]);
  t.same(data(z.lookup('DB-0.DB.shop.svc.cluster.LOCAL', 'A')!), ['10.42.0.7']);
  t.same(data(z.lookup('7.7.43.10.IN-ADDR.ARPA', 'PTR')!), ['web.shop.svc.cluster.local']);
});

t.test('names outside the zone and reverse names without a PTR are not ours: they go upstream', async (t) => {
  const z = zone();
  t.equal(z.lookup('example.com', 'A'), undefined);
  t.equal(z.lookup('local', 'A'), undefined);
  t.equal(z.lookup('9.9.9.10.in-addr.arpa', 'PTR'), undefined);
  t.equal(z.lookup('7.7.43.10.in-addr.arpa', 'A'), undefined);
});

t.test('updates replace a Service’s records; deletes leave nothing behind, shared names included', async (t) => {
  const z = zone();
  z.setService(svc('web', { clusterIP: '10.43.7.8' }), []);
  t.same(data(z.lookup('web.shop.svc.cluster.local', 'A')!), ['10.43.7.8']);
  t.equal(z.lookup('7.7.43.10.in-addr.arpa', 'PTR'), undefined, 'the old PTR went with the old address');
  t.equal(z.lookup('_http._tcp.web.shop.svc.cluster.local', 'SRV')!.rcode, 'NXDOMAIN');
  // Two Services selecting the same pod: its address has a PTR from each until one goes.
  z.setService(svc('web2', { clusterIP: 'None' }), [slice([ep('10.42.0.7')])]);
  t.same(data(z.lookup('7.0.42.10.in-addr.arpa', 'PTR')!).sort(), [
    '10-42-0-7.web2.shop.svc.cluster.local',
    'db-0.db.shop.svc.cluster.local',
  ]);
  z.deleteService('shop/db');
  t.same(data(z.lookup('7.0.42.10.in-addr.arpa', 'PTR')!), ['10-42-0-7.web2.shop.svc.cluster.local']);
  for (const k of ['shop/web', 'shop/web2', 'shop/empty', 'shop/ext']) z.deleteService(k);
  t.equal(z.lookup('shop.svc.cluster.local', 'A')!.rcode, 'NXDOMAIN', 'the namespace name went with its last Service');
  t.equal(z.lookup('svc.cluster.local', 'A')!.rcode, 'NOERROR', 'svc.<zone> always exists');
  t.same((z as any).records.size, 3, 'only the static records remain');
  t.same([...(z as any).existing.keys()].sort(), [
    'dns-version.cluster.local',
    'dns.cluster.local',
    'ns.dns.cluster.local',
    'pod.cluster.local',
    'svc.cluster.local',
  ]);
});
