// IPv4 addresses as 32-bit numbers, for the allocators of service IPs and node pod CIDRs, and the
// host's own address.
import os from 'node:os';

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}

/** The first non-loopback IPv4 address: a node's IP, or where the API server is reached, when not given. */
export function firstHostIPv4(): string {
  const ips = Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal);
  return ips[0]?.address ?? '127.0.0.1';
}
