// IPv4 addresses as 32-bit numbers, for the allocators of service IPs and node pod CIDRs, and the
// host's own address.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}

/** Devices the node's own network makes (pod bridge, VXLAN, cluster DNS, pods' veths): never the host's address. */
const OWN_DEVICE = /^(cni\d*|flannel\.\d+|skiff-dns|veth.*|skn.*)$/;

/** The interface of the default route with the lowest metric, from /proc/net/route. */
function defaultRouteInterface(routes: string): string | undefined {
  const defaults = routes
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1] === '00000000' && f[7] === '00000000')
    .sort((a, b) => Number(a[6]) - Number(b[6]));
  return defaults[0]?.[0];
}

/**
 * The host's own IPv4 address when none is given (a node's IP, where the API server is reached):
 * that of the interface holding the default route, as K3s chooses it, else the first one that is
 * not loopback and not a device of the pod network (which a restarted node already has).
 */
export function firstHostIPv4(routes = readRoutes(), interfaces = os.networkInterfaces()): string {
  const v4 = (name: string) => (interfaces[name] ?? []).find((i) => i.family === 'IPv4' && !i.internal)?.address;
  const viaDefault = defaultRouteInterface(routes);
  const chosen = viaDefault && !OWN_DEVICE.test(viaDefault) ? v4(viaDefault) : undefined;
  if (chosen) return chosen;
  for (const name of Object.keys(interfaces)) {
    const address = OWN_DEVICE.test(name) ? undefined : v4(name);
    if (address) return address;
  }
  return '127.0.0.1';
}

function readRoutes(): string {
  try {
    return readFileSync('/proc/net/route', 'utf8');
  } catch {
    return '';
  }
}
