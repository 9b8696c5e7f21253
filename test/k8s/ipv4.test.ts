// The host address a node takes when not told its IP: the default route's interface, never a
// device of the pod network that a restarted node already has.
import type os from 'node:os';
import t from 'tap';
import { firstHostIPv4, intToIp, ipToInt } from '../../src/k8s/ipv4.js';

const iface = (address: string, internal = false) => [{ address, family: 'IPv4', internal }] as os.NetworkInterfaceInfo[];
const ROUTES_HEADER = 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n';
const route = (dev: string, dest: string, metric: number, mask = '00000000') =>
  `${dev}\t${dest}\t0102000A\t0003\t0\t0\t${metric}\t${mask}\t0\t0\t0\n`;

t.test('the default route picks the host address', async (t) => {
  const interfaces = { lo: iface('127.0.0.1', true), cni0: iface('10.42.0.1'), eth0: iface('192.168.1.20'), wlan0: iface('192.168.2.7') };
  const routes =
    ROUTES_HEADER + route('wlan0', '00000000', 600) + route('eth0', '00000000', 100) + route('eth0', '0001A8C0', 0, '00FFFFFF');
  t.equal(firstHostIPv4(routes, interfaces), '192.168.1.20', 'the default route with the lowest metric');
  const restarted = { lo: iface('127.0.0.1', true), cni0: iface('10.42.0.1'), 'flannel.1': iface('10.42.0.0'), eth1: iface('172.16.0.9') };
  t.equal(firstHostIPv4(ROUTES_HEADER, restarted), '172.16.0.9', 'without a default route: not the pod bridge or the tunnel');
  t.equal(
    firstHostIPv4(ROUTES_HEADER + route('cni0', '00000000', 0), restarted),
    '172.16.0.9',
    'a default route over the pod bridge is not the host',
  );
  t.equal(firstHostIPv4('', { lo: iface('127.0.0.1', true) }), '127.0.0.1');
});

t.test('addresses as numbers', async (t) => {
  t.equal(ipToInt('10.43.0.10'), 170590218);
  t.equal(intToIp(ipToInt('10.43.0.10') + 1), '10.43.0.11');
});
