// Allocation of service cluster IPs (from --service-cidr) and node ports (30000-32767): each value is
// handed out once and comes back when the service that held it is deleted.
import { isIPv4 } from 'node:net';
import { intToIp, ipToInt } from '../../k8s/ipv4.js';

export class IPAllocator {
  private readonly base: number;
  private readonly size: number;
  private readonly used = new Set<number>();
  private next = 0;

  constructor(readonly cidr: string) {
    const [ip, bits] = cidr.split('/');
    const prefix = Number(bits);
    if (!ip || !isIPv4(ip) || !Number.isInteger(prefix) || prefix < 8 || prefix > 30)
      throw new Error(`invalid service CIDR ${cidr}: expected an IPv4 CIDR such as 10.43.0.0/16`);
    this.size = 2 ** (32 - prefix);
    this.base = ipToInt(ip) & ~(this.size - 1);
  }

  /** The first usable address, reserved for the `kubernetes` service. */
  first(): string {
    return intToIp(this.base + 1);
  }

  contains(ip: string): boolean {
    if (!isIPv4(ip)) return false;
    const n = ipToInt(ip) - this.base;
    return n > 0 && n < this.size - 1;
  }

  /** Claims a specific address; false if it is taken. */
  claim(ip: string): boolean {
    const n = ipToInt(ip) - this.base;
    if (this.used.has(n)) return false;
    this.used.add(n);
    return true;
  }

  /** The next free address after the last one handed out (so a freed address is not reused at once). */
  allocate(): string | undefined {
    for (let i = 0; i < this.size - 3; i++) {
      const n = 2 + ((this.next + i) % (this.size - 3));
      if (!this.used.has(n)) {
        this.used.add(n);
        this.next = n - 1;
        return intToIp(this.base + n);
      }
    }
    return undefined;
  }

  release(ip: string): void {
    this.used.delete(ipToInt(ip) - this.base);
  }
}

export class PortAllocator {
  private readonly used = new Set<number>();

  constructor(
    readonly min = 30000,
    readonly max = 32767,
  ) {}

  contains(port: number): boolean {
    return Number.isInteger(port) && port >= this.min && port <= this.max;
  }

  claim(port: number): boolean {
    if (this.used.has(port)) return false;
    this.used.add(port);
    return true;
  }

  /** A random free port, as Kubernetes picks them. */
  allocate(): number | undefined {
    const span = this.max - this.min + 1;
    const start = Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      const port = this.min + ((start + i) % span);
      if (!this.used.has(port)) {
        this.used.add(port);
        return port;
      }
    }
    return undefined;
  }

  release(port: number): void {
    this.used.delete(port);
  }
}
