// IPv4 ranges as the pod network needs them: is an address or a range inside another, and the
// range's first address (a node's VTEP address is its pod range's network address, as in flannel).
import { intToIp, ipToInt } from '../../../k8s/ipv4.js';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIPv4(s: string | undefined): s is string {
  const m = s ? IPV4.exec(s) : null;
  return !!m && m.slice(1).every((p) => Number(p) <= 255);
}

export interface Cidr {
  /** The network address as a number. */
  base: number;
  bits: number;
}

/** `10.42.1.0/24` (host bits are dropped); undefined for anything that is not an IPv4 range. */
export function parseCidr(s: string | undefined): Cidr | undefined {
  const [addr, len, extra] = (s ?? '').split('/');
  const bits = Number(len);
  if (extra !== undefined || !isIPv4(addr) || !/^\d{1,2}$/.test(len ?? '') || bits > 32) return undefined;
  return { base: (ipToInt(addr) & mask(bits)) >>> 0, bits };
}

const mask = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.bits}`;
}

/** The range's network address: `10.42.1.0` for `10.42.1.0/24`. */
export function networkAddress(cidr: string): string {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`not an IPv4 range: ${cidr}`);
  return intToIp(c.base);
}

export function containsIP(cidr: Cidr, ip: string): boolean {
  return isIPv4(ip) && (ipToInt(ip) & mask(cidr.bits)) >>> 0 === cidr.base;
}

/** Whether `inner` (a range, or a plain address) lies inside `outer`. */
export function within(inner: string, outer: Cidr): boolean {
  const c = inner.includes('/') ? parseCidr(inner) : isIPv4(inner) ? { base: ipToInt(inner), bits: 32 } : undefined;
  return !!c && c.bits >= outer.bits && (c.base & mask(outer.bits)) >>> 0 === outer.base;
}
