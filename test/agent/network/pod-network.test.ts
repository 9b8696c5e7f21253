// The pod network's pure parts: flannel's annotations both ways, the entries wanted for a set of
// Nodes, the commands that take the kernel there (and only there), the uplink, the VTEP's checks and
// the masquerading table.
import type { Node } from 'kubernetes-types/core/v1.js';
import t from 'tap';
import { cniConflist } from '../../../src/agent/cni.js';
import { within, parseCidr, networkAddress } from '../../../src/agent/network/podnet/cidr.js';
import { desiredState, type KernelState, plan } from '../../../src/agent/network/podnet/desired-state.js';
import { annotationChanges, flannelAnnotations, leaseOf, vtepMACOf } from '../../../src/agent/network/podnet/flannel-annotations.js';
import { masqueradeScript } from '../../../src/agent/network/podnet/masquerade.js';
import { chooseUplink, onSegment, podMTU } from '../../../src/agent/network/podnet/uplink.js';
import { randomMAC, vxlanAddArgs, vxlanIncompatibility, type VxlanLink } from '../../../src/agent/network/podnet/vxlan-device.js';

const MAC1 = '0a:11:11:11:11:11';
const MAC2 = '0a:22:22:22:22:22';

function node(name: string, podCIDR: string | undefined, annotations: Record<string, string> = {}): Node {
  return { metadata: { name, annotations }, spec: { podCIDR } };
}
const vxlanNode = (name: string, podCIDR: string, ip: string, mac: string) =>
  node(name, podCIDR, flannelAnnotations({ backend: 'vxlan', publicIP: ip, vtepMAC: mac }));

const empty = (): KernelState => ({ routes: [], neighbours: [], fdb: [], vtepAddresses: [] });
const own = { name: 'n0', backend: 'vxlan' as const, clusterCIDR: '10.42.0.0/16', podCIDR: '10.42.0.0/24', iface: 'eth0' };

t.test('ranges', async (t) => {
  t.equal(networkAddress('10.42.1.0/24'), '10.42.1.0');
  t.equal(networkAddress('10.42.1.77/24'), '10.42.1.0');
  const c = parseCidr('10.42.0.0/16')!;
  t.ok(within('10.42.7.0/24', c));
  t.ok(within('10.42.7.9', c));
  t.notOk(within('10.43.0.0/24', c));
  t.notOk(within('10.0.0.0/8', c), 'a wider range is not inside');
  t.equal(parseCidr('10.42.0.0/33'), undefined);
  t.equal(parseCidr('fd00::/64'), undefined);
});

t.test("flannel's annotations, as its kube subnet manager writes them", async (t) => {
  t.same(flannelAnnotations({ backend: 'vxlan', publicIP: '192.168.1.10', vtepMAC: MAC1 }), {
    'flannel.alpha.coreos.com/backend-type': 'vxlan',
    'flannel.alpha.coreos.com/backend-data': `{"VNI":1,"VtepMAC":"${MAC1}"}`,
    'flannel.alpha.coreos.com/public-ip': '192.168.1.10',
    'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
  });
  t.equal(flannelAnnotations({ backend: 'host-gw', publicIP: '192.168.1.10' })['flannel.alpha.coreos.com/backend-data'], 'null');
  t.equal(vtepMACOf('{"VNI":1,"VtepMAC":"0A:11:11:11:11:11"}'), MAC1, 'read back lower-cased');
  t.equal(vtepMACOf('null'), undefined);
  t.equal(vtepMACOf('{"VNI":1,"VtepMAC":"nonsense"}'), undefined);
  t.equal(vtepMACOf(undefined), undefined);

  const n = vxlanNode('n1', '10.42.1.0/24', '192.168.1.11', MAC1);
  t.same(leaseOf(n), { name: 'n1', podCIDR: '10.42.1.0/24', publicIP: '192.168.1.11', backend: 'vxlan', vtepMAC: MAC1 });
  t.equal(leaseOf(node('n2', '10.42.2.0/24')), undefined, 'no annotations yet: not a lease');
  t.equal(leaseOf({ ...n, spec: {} }), undefined, 'no pod range yet');
  const { 'flannel.alpha.coreos.com/kube-subnet-manager': _, ...unmanaged } = n.metadata!.annotations!;
  t.equal(leaseOf(node('n1', '10.42.1.0/24', unmanaged)), undefined, 'not managed through the Node: ignored, as flannel does');
  const overwritten = node('n1', '10.42.1.0/24', {
    ...n.metadata!.annotations,
    'flannel.alpha.coreos.com/public-ip-overwrite': '203.0.113.5',
  });
  t.equal(leaseOf(overwritten)?.publicIP, '203.0.113.5', 'public-ip-overwrite wins');
  t.equal(leaseOf({ ...n, spec: { podCIDRs: ['fd00::/64', '10.42.1.0/24'] } })?.podCIDR, '10.42.1.0/24', 'the IPv4 one of podCIDRs');

  const want = flannelAnnotations({ backend: 'vxlan', publicIP: '192.168.1.11', vtepMAC: MAC2 });
  t.same(annotationChanges(n, want), { 'flannel.alpha.coreos.com/backend-data': `{"VNI":1,"VtepMAC":"${MAC2}"}` }, 'only what differs');
  t.same(annotationChanges(n, flannelAnnotations({ backend: 'vxlan', publicIP: '192.168.1.11', vtepMAC: MAC1 })), {});
});

t.test('vxlan: a route, a neighbour and an FDB entry per other node', async (t) => {
  const nodes = [
    vxlanNode('n0', '10.42.0.0/24', '192.168.1.10', '0a:00:00:00:00:00'),
    vxlanNode('n2', '10.42.2.0/24', '192.168.1.12', MAC2),
    vxlanNode('n1', '10.42.1.0/24', '192.168.1.11', MAC1),
    node('n3', '10.42.3.0/24'),
  ];
  const d = desiredState(
    own,
    nodes.flatMap((n) => leaseOf(n) ?? []),
  );
  t.equal(d.vtepAddress, '10.42.0.0/32');
  t.same(d.routes, [
    { dst: '10.42.1.0/24', via: '10.42.1.0', dev: 'flannel.1', onlink: true },
    { dst: '10.42.2.0/24', via: '10.42.2.0', dev: 'flannel.1', onlink: true },
  ]);
  t.same(d.neighbours, [
    { ip: '10.42.1.0', mac: MAC1 },
    { ip: '10.42.2.0', mac: MAC2 },
  ]);
  t.same(d.fdb, [
    { mac: MAC1, dst: '192.168.1.11' },
    { mac: MAC2, dst: '192.168.1.12' },
  ]);
  t.same(d.skipped, []);

  const p = plan('10.42.0.0/16', d, empty());
  t.same(p.ipRemove, []);
  t.same(p.bridge, [
    `fdb append ${MAC1} dev flannel.1 dst 192.168.1.11 self permanent`,
    `fdb append ${MAC2} dev flannel.1 dst 192.168.1.12 self permanent`,
  ]);
  t.same(p.ipAdd, [
    'address add 10.42.0.0/32 dev flannel.1',
    `neigh replace 10.42.1.0 lladdr ${MAC1} dev flannel.1 nud permanent`,
    `neigh replace 10.42.2.0 lladdr ${MAC2} dev flannel.1 nud permanent`,
    'route replace 10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink',
    'route replace 10.42.2.0/24 via 10.42.2.0 dev flannel.1 onlink',
  ]);
});

t.test('nodes that do not fit are skipped with a reason', async (t) => {
  const d = desiredState(own, [
    { name: 'outside', podCIDR: '10.99.1.0/24', publicIP: '192.168.1.20', backend: 'vxlan', vtepMAC: MAC1 },
    { name: 'hostgw', podCIDR: '10.42.5.0/24', publicIP: '192.168.1.21', backend: 'host-gw' },
    { name: 'a-dup', podCIDR: '10.42.6.0/24', publicIP: '192.168.1.22', backend: 'vxlan', vtepMAC: MAC1 },
    { name: 'b-dup', podCIDR: '10.42.6.0/24', publicIP: '192.168.1.23', backend: 'vxlan', vtepMAC: MAC2 },
    { name: 'mine', podCIDR: '10.42.0.0/24', publicIP: '192.168.1.24', backend: 'vxlan', vtepMAC: MAC2 },
  ]);
  t.same(
    d.routes.map((r) => r.dst),
    ['10.42.6.0/24'],
  );
  t.same(
    d.skipped.map((s) => s.node),
    ['b-dup', 'hostgw', 'mine', 'outside'],
  );
  t.match(d.skipped.find((s) => s.node === 'hostgw')!.reason, /host-gw backend, this node vxlan/);
});

t.test('a kernel that already has it all needs nothing; stale entries go, foreign ones stay', async (t) => {
  const d = desiredState(
    own,
    [vxlanNode('n1', '10.42.1.0/24', '192.168.1.11', MAC1)].flatMap((n) => leaseOf(n) ?? []),
  );
  const converged: KernelState = {
    routes: [
      { dst: 'default', gateway: '192.168.1.1', dev: 'eth0', flags: [] },
      { dst: '10.42.0.0/24', dev: 'cni0', flags: [] },
      { dst: '10.42.1.0/24', gateway: '10.42.1.0', dev: 'flannel.1', flags: ['onlink'] },
    ],
    neighbours: [{ dst: '10.42.1.0', lladdr: MAC1, state: ['PERMANENT'] }],
    fdb: [{ mac: MAC1, dst: '192.168.1.11' }, { mac: 'aa:aa:aa:aa:aa:aa' }],
    vtepAddresses: ['10.42.0.0/32'],
  };
  const p = plan('10.42.0.0/16', d, converged);
  t.same(p, { ipRemove: [], bridge: [], ipAdd: [] }, 'a restart converges without touching working entries');

  // n2 left; n1 came back with a new VTEP; another cluster's entries (10.99/16) share the device.
  const stale: KernelState = {
    routes: [
      ...converged.routes,
      { dst: '10.42.2.0/24', gateway: '10.42.2.0', dev: 'flannel.1', flags: ['onlink'] },
      { dst: '10.42.3.0/24', gateway: '192.168.1.13', dev: 'eth0', flags: [] },
      { dst: '10.99.1.0/24', gateway: '10.99.1.0', dev: 'flannel.1', flags: ['onlink'] },
    ],
    neighbours: [
      { dst: '10.42.1.0', lladdr: 'ee:ee:ee:ee:ee:ee', state: ['PERMANENT'] },
      { dst: '10.42.2.0', lladdr: MAC2, state: ['PERMANENT'] },
      { dst: '10.42.4.0', state: ['FAILED'] },
      { dst: '10.99.1.0', lladdr: '0a:99:99:99:99:99', state: ['PERMANENT'] },
    ],
    fdb: [
      { mac: 'ee:ee:ee:ee:ee:ee', dst: '192.168.1.11' },
      { mac: MAC2, dst: '192.168.1.12' },
      { mac: '0a:99:99:99:99:99', dst: '192.168.9.9' },
    ],
    vtepAddresses: ['10.42.7.0/32', '10.99.0.0/32'],
  };
  const q = plan('10.42.0.0/16', d, stale);
  t.same(q.ipRemove, [
    'route del 10.42.2.0/24 via 10.42.2.0 dev flannel.1 onlink',
    'route del 10.42.3.0/24 via 192.168.1.13 dev eth0',
    'neigh del 10.42.2.0 dev flannel.1',
    'address del 10.42.7.0/32 dev flannel.1',
  ]);
  t.same(q.bridge, [
    'fdb del ee:ee:ee:ee:ee:ee dev flannel.1 dst 192.168.1.11 self',
    `fdb del ${MAC2} dev flannel.1 dst 192.168.1.12 self`,
    `fdb append ${MAC1} dev flannel.1 dst 192.168.1.11 self permanent`,
  ]);
  t.same(q.ipAdd, ['address add 10.42.0.0/32 dev flannel.1', `neigh replace 10.42.1.0 lladdr ${MAC1} dev flannel.1 nud permanent`]);
});

t.test('a node that moved: its route and FDB entry follow it', async (t) => {
  const d = desiredState(own, [{ name: 'n1', podCIDR: '10.42.1.0/24', publicIP: '192.168.1.99', backend: 'vxlan', vtepMAC: MAC1 }]);
  const p = plan('10.42.0.0/16', d, {
    routes: [{ dst: '10.42.1.0/24', gateway: '10.42.1.0', dev: 'flannel.1', flags: ['onlink'] }],
    neighbours: [{ dst: '10.42.1.0', lladdr: MAC1, state: ['PERMANENT'] }],
    fdb: [{ mac: MAC1, dst: '192.168.1.11' }],
    vtepAddresses: ['10.42.0.0/32'],
  });
  t.same(p, {
    ipRemove: [],
    bridge: [`fdb del ${MAC1} dev flannel.1 dst 192.168.1.11 self`, `fdb append ${MAC1} dev flannel.1 dst 192.168.1.99 self permanent`],
    ipAdd: [],
  });
});

t.test('host-gw: plain routes via the other nodes, and only to nodes on this segment', async (t) => {
  const uplink = chooseUplink(
    [{ ifname: 'eth0', mtu: 1500, addr_info: [{ family: 'inet', local: '192.168.1.10', prefixlen: 24 }] }],
    '192.168.1.10',
  );
  const hostgw = { ...own, backend: 'host-gw' as const, onSegment: (ip: string) => onSegment(uplink, ip) };
  const leases = [
    { name: 'n1', podCIDR: '10.42.1.0/24', publicIP: '192.168.1.11', backend: 'host-gw' },
    { name: 'far', podCIDR: '10.42.2.0/24', publicIP: '172.16.0.5', backend: 'host-gw' },
  ];
  const d = desiredState(hostgw, leases);
  t.equal(d.vtepAddress, undefined);
  t.same(d.routes, [{ dst: '10.42.1.0/24', via: '192.168.1.11', dev: 'eth0' }]);
  t.same(d.neighbours, []);
  t.equal(d.skipped.length, 1);
  t.match(d.skipped[0]!, { node: 'far', reason: /not on this node's \(eth0\).*use vxlan/ });
  t.same(plan('10.42.0.0/16', d, empty()).ipAdd, ['route replace 10.42.1.0/24 via 192.168.1.11 dev eth0']);
  // Switched from vxlan: the tunnel's routes (if its device were still there) give way.
  const p = plan('10.42.0.0/16', d, {
    ...empty(),
    routes: [{ dst: '10.42.1.0/24', gateway: '10.42.1.0', dev: 'flannel.1', flags: ['onlink'] }],
  });
  t.same(p.ipRemove, [], 'the same destination is replaced, not removed');
  t.same(p.ipAdd, ['route replace 10.42.1.0/24 via 192.168.1.11 dev eth0']);
});

t.test('the uplink: --flannel-iface, or the interface holding the node IP', async (t) => {
  const links = [
    { ifname: 'lo', mtu: 65536, addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
    { ifname: 'eth0', mtu: 1500, addr_info: [{ family: 'inet', local: '192.168.1.10', prefixlen: 24 }] },
    {
      ifname: 'wg0',
      mtu: 1420,
      addr_info: [
        { family: 'inet', local: '10.8.0.2', prefixlen: 32 },
        { family: 'inet', local: '10.9.0.2', prefixlen: 24 },
      ],
    },
  ];
  t.match(chooseUplink(links, '192.168.1.10'), { iface: 'eth0', mtu: 1500, publicIP: '192.168.1.10' });
  const wg = chooseUplink(links, '192.168.1.10', 'wg0');
  t.match(wg, { iface: 'wg0', mtu: 1420, publicIP: '10.8.0.2' }, "another interface than the node IP's: its own address");
  t.ok(onSegment(wg, '10.9.0.7'));
  t.notOk(onSegment(wg, '10.8.0.3'), 'a /32 is no segment');
  t.equal(podMTU(wg, 'vxlan'), 1370);
  t.equal(podMTU(wg, 'host-gw'), 1420);
  t.throws(() => chooseUplink(links, '192.168.1.10', 'eth9'), /--flannel-iface eth9: no such interface/);
  t.throws(() => chooseUplink(links, '10.1.1.1'), /no interface holds the node IP 10.1.1.1/);
});

t.test('the VTEP device: kept when it matches, what differs when not', async (t) => {
  const want = { uplink: 'eth0', local: '192.168.1.10', mtu: 1450 };
  const link = (data: object, kind = 'vxlan'): VxlanLink => ({
    ifname: 'flannel.1',
    address: MAC1,
    mtu: 1450,
    linkinfo: { info_kind: kind, info_data: { id: 1, local: '192.168.1.10', link: 'eth0', port: 8472, learning: false, ...data } },
  });
  t.equal(vxlanIncompatibility(link({}), want), '');
  t.equal(vxlanIncompatibility(link({ link: undefined }), want), '', 'no uplink recorded: fine, as flannel');
  t.match(vxlanIncompatibility(link({ id: 2 }), want), /VNI 2/);
  t.match(vxlanIncompatibility(link({ local: '192.168.1.99' }), want), /local address 192.168.1.99/);
  t.match(vxlanIncompatibility(link({ link: 'eth1' }), want), /uplink eth1/);
  t.match(vxlanIncompatibility(link({ port: 4789 }), want), /UDP port 4789/);
  t.match(vxlanIncompatibility(link({ learning: true }), want), /learning/);
  t.match(vxlanIncompatibility(link({}, 'bridge'), want), /bridge device/);
  t.same(vxlanAddArgs(want, MAC1), [
    ...['link', 'add', 'flannel.1', 'address', MAC1, 'mtu', '1450', 'type', 'vxlan', 'id', '1'],
    ...['local', '192.168.1.10', 'dev', 'eth0', 'dstport', '8472', 'nolearning'],
  ]);
  const mac = randomMAC();
  t.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  t.equal(Number.parseInt(mac.slice(0, 2), 16) & 3, 2, 'locally administered, unicast');
});

t.test('masquerading: pods to pods keep their address, the rest leaves as the node', async (t) => {
  const script = masqueradeScript({ clusterCIDR: '10.42.0.0/16', podCIDR: '10.42.1.0/24' });
  t.match(script, /^table ip skiff-podnet\ndelete table ip skiff-podnet\ntable ip skiff-podnet \{/, 'replaced in one transaction');
  const rules = script
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /return|masquerade/.test(l));
  t.same(rules, [
    'meta mark & 0x4000 == 0x4000 return',
    'ip saddr 10.42.1.0/24 ip daddr 10.42.0.0/16 return',
    'ip saddr 10.42.0.0/16 ip daddr 10.42.1.0/24 return',
    'ip saddr != 10.42.0.0/16 ip daddr 10.42.1.0/24 return',
    'ip saddr 10.42.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random',
    'ip saddr != 10.42.0.0/16 ip daddr 10.42.0.0/16 masquerade fully-random',
  ]);
});

t.test('the CNI config: the pod network sets masquerading and the MTU', async (t) => {
  const bridge = (c: object) => (c as { plugins: Record<string, unknown>[] }).plugins[0]!;
  const conf = bridge(cniConflist({ podCIDR: '10.42.1.0/24', ipamDataDir: '/x', ipMasq: false, mtu: 1450 }));
  t.match(conf, { type: 'bridge', ipMasq: false, mtu: 1450 });
  t.notOk('mtu' in bridge(cniConflist({ podCIDR: '10.42.1.0/24', ipamDataDir: '/x' })), "no MTU: the kernel's");
});
