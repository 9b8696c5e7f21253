// Every API server of the cluster in default/kubernetes, as upstream's lease endpoint reconciler
// keeps them: each server holds the key /masterleases/<address>:<port> under a datastore lease it
// keeps alive, and writes the Endpoints and EndpointSlice from the keys alive. A server that dies
// leaves them once its lease expires; one that stops leaves at once. What follows the Endpoints
// (agents choosing a server, pods through the Service) then goes to the servers that are up. As
// upstream's, it never empties them: the last server to stop stays listed, for it comes back there.
import { LeaseNotFoundError, type Store } from '../store/index.js';
import { log } from '../log.js';

const PREFIX = '/masterleases/';

export interface ApiServerAddress {
  address: string;
  port: number;
}

export interface ApiServerEndpointsOptions {
  /** How long a server stays listed after its last renewal (upstream's 15 s). */
  ttlSeconds?: number;
}

/** Keeps this server's key alive and the Service's endpoints current, until stop(). */
export class ApiServerEndpoints {
  private lease = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly ttl: number;
  private readonly key: string;

  constructor(
    private readonly store: Store,
    private readonly self: ApiServerAddress,
    /** Writes the Service's Endpoints and EndpointSlice for these servers (sorted), if they differ. */
    private readonly write: (servers: ApiServerAddress[]) => Promise<void>,
    opts: ApiServerEndpointsOptions = {},
  ) {
    this.ttl = opts.ttlSeconds ?? 15;
    this.key = `${PREFIX}${self.address}:${self.port}`;
  }

  /** Lists this server (the first renewal), then renews every third of the lease. */
  async start(): Promise<void> {
    await this.renew();
    this.timer = setInterval(
      () => {
        this.running = this.running
          .then(() => this.renew())
          .catch((err) => log.warn({ err: (err as Error).message }, 'cannot renew the API server lease'));
      },
      (this.ttl * 1000) / 3,
    );
  }

  private async renew(): Promise<void> {
    try {
      if (this.lease) await this.store.keepAliveLease(this.lease);
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
      this.lease = 0; // expired while this server could not renew it (paused, or cut off)
    }
    if (!this.lease) {
      this.lease = await this.store.grantLease(this.ttl);
      const value = Buffer.from(JSON.stringify(this.self));
      const existing = await this.store.get(this.key);
      if (existing) await this.store.update(this.key, value, undefined, { lease: this.lease });
      else await this.store.create(this.key, value, { lease: this.lease });
    }
    await this.reconcile();
  }

  private async reconcile(): Promise<void> {
    const { items } = await this.store.list(PREFIX);
    const servers = items
      .map((kv) => JSON.parse(kv.value.toString('utf8')) as ApiServerAddress)
      .sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
    if (servers.length) await this.write(servers);
  }

  /** Leaves the list at once (a graceful stop), so clients need not wait out the lease. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    if (!this.lease) return;
    await this.store.revokeLease(this.lease).catch(() => undefined);
    await this.reconcile().catch(() => undefined);
  }
}
