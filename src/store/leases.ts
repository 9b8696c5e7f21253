// Lease bookkeeping in memory. Only grants and revocations are written to disk: keep-alives just
// move a deadline, so a node heartbeat costs no SD-card write. After a restart every lease gets its
// full TTL again, as etcd does when a new leader takes over.
import { LeaseNotFoundError } from './errors.js';

export class LeaseTable {
  private readonly leases = new Map<number, { ttl: number; expiresAt: number }>();
  private lastId = 0;

  constructor(
    saved: { id: number; ttl: number }[],
    private readonly now: () => number = Date.now,
  ) {
    for (const { id, ttl } of saved) this.grant(id, ttl);
  }

  /** Ids grow with the clock, so they are not reused across restarts. */
  nextId(): number {
    this.lastId = Math.max(this.lastId + 1, this.now() * 1000);
    return this.lastId;
  }

  grant(id: number, ttlSeconds: number): void {
    this.leases.set(id, { ttl: ttlSeconds, expiresAt: this.now() + ttlSeconds * 1000 });
    this.lastId = Math.max(this.lastId, id);
  }

  require(id: number): void {
    if (!this.leases.has(id)) throw new LeaseNotFoundError(id);
  }

  keepAlive(id: number): void {
    const lease = this.leases.get(id);
    if (!lease) throw new LeaseNotFoundError(id);
    lease.expiresAt = this.now() + lease.ttl * 1000;
  }

  revoke(id: number): void {
    this.leases.delete(id);
  }

  expired(now: number = this.now()): number[] {
    return [...this.leases].filter(([, l]) => l.expiresAt <= now).map(([id]) => id);
  }
}
