// Leader election on a coordination.k8s.io Lease, as client-go does it: the holder renews the lease
// every retry period; others take it over once it has not changed for a lease duration by their own
// clock (so clocks need not agree). A leader that cannot renew within the renew deadline stops
// leading. Stopping on purpose releases the lease so a successor need not wait.
import { setMaxListeners } from 'node:events';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { log } from '../log.js';
import { isAlreadyExists, isConflict, isNotFound } from '../k8s/errors.js';
import type { ApiClient, ResourceClient } from './rest-client.js';
import { leases, type Writable } from './resources.js';
import { microTimestamp } from '../k8s/time.js';
import { realClock, type Clock } from '../k8s/clock.js';
import { onAbort } from '../k8s/abort.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /**
   * The work of a term: runs while leading and should end when the signal aborts (leadership lost
   * or the elector stopped). Work that ends by itself first, failed or not, gives up the lease.
   */
  onStartedLeading(signal: AbortSignal): Promise<void>;
  onStoppedLeading?(): void;
  onNewLeader?(identity: string): void;
  /** The time source for renewals and expiry (tests pass a manual one); the real clock by default. */
  clock?: Clock;
}

export class LeaderElector {
  private readonly client: ResourceClient<Writable<Lease>>;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed?: { holder: string; renewTime: string; at: number };
  private leading = false;
  private readonly clock: Clock;

  constructor(
    api: ApiClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.client = api.resource(leases);
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.clock = opts.clock ?? realClock;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns, leads, and campaigns again after losing the lease, until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.tryAcquireOrRenew())) {
        await this.clock.sleep(this.retryPeriodMs, signal);
        continue;
      }
      const term = new AbortController();
      // Every loop and informer of the term listens to it.
      setMaxListeners(0, term.signal);
      const stopTerm = () => term.abort();
      onAbort(signal, stopTerm);
      this.leading = true;
      log.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'became leader');
      let workEnded = false;
      const work = Promise.resolve()
        .then(() => this.opts.onStartedLeading(term.signal))
        .catch((err: Error) => log.error({ err, lease: `${this.opts.namespace}/${this.opts.name}` }, 'leader work failed'))
        .finally(() => {
          workEnded = !term.signal.aborted;
          term.abort();
        });
      let lastRenew = this.clock.now();
      while (!term.signal.aborted) {
        await this.clock.sleep(this.retryPeriodMs, term.signal);
        if (term.signal.aborted) break;
        if (await this.tryAcquireOrRenew()) lastRenew = this.clock.now();
        else if (this.clock.now() - lastRenew > this.renewDeadlineMs || this.observed?.holder !== this.opts.identity) break;
      }
      term.abort();
      signal.removeEventListener('abort', stopTerm);
      // One term's work is over before another may start in this process.
      await work;
      this.leading = false;
      log.info(
        { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity },
        workEnded ? 'leader work stopped: giving up the lease' : 'stopped leading',
      );
      this.opts.onStoppedLeading?.();
      if (signal.aborted || workEnded) await this.release();
      // A candidate whose work broke lets the others go first before it tries again.
      if (workEnded) await this.clock.sleep(this.leaseDurationMs, signal);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const { namespace, name, identity } = this.opts;
    const spec = (acquireTime: string, transitions: number) => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime,
      renewTime: microTimestamp(new Date(now)),
      leaseTransitions: transitions,
    });
    try {
      let lease: Writable<Lease>;
      try {
        lease = await this.client.get(namespace, name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await this.client.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: spec(microTimestamp(new Date(now)), 0),
        });
        this.observe(identity, microTimestamp(new Date(now)), now);
        return true;
      }
      const holder = lease.spec?.holderIdentity ?? '';
      const renewTime = lease.spec?.renewTime ?? '';
      if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) this.observe(holder, renewTime, now);
      const held = holder !== '' && holder !== identity && this.observed!.at + this.leaseDurationMs > now;
      if (held) return false;
      const mine = holder === identity;
      lease.spec = spec(
        mine ? (lease.spec?.acquireTime ?? microTimestamp(new Date(now))) : microTimestamp(new Date(now)),
        (lease.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
      );
      await this.client.update(lease);
      this.observe(identity, lease.spec.renewTime!, now);
      return true;
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err))
        log.warn({ err: (err as Error).message, lease: `${namespace}/${name}` }, 'leader election: lease update failed');
      return false;
    }
  }

  private observe(holder: string, renewTime: string, at: number): void {
    if (holder && holder !== this.observed?.holder) this.opts.onNewLeader?.(holder);
    this.observed = { holder, renewTime, at };
  }

  /** Hands the lease back (holder cleared, 1 s duration) so another candidate takes it at once. */
  private async release(): Promise<void> {
    try {
      const lease = await this.client.get(this.opts.namespace, this.opts.name);
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTimestamp(new Date(this.clock.now())) };
      await this.client.update(lease);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'leader election: could not release the lease');
    }
  }
}
