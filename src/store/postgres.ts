// The kine-style store on Postgres, shared by any number of servers (see sql-store.ts for how each
// server follows the log). Here, a LISTEN connection is told of every commit and compaction by any
// server; after a lost connection it listens again and catches up on what it missed.
import pg from 'pg';
import type { LogStoreOptions } from './log-store.js';
import { clientConfig, COMPACT_CHANNEL, PostgresLog, WRITES_CHANNEL } from './postgres-log.js';
import type { Tls } from './sql-log.js';
import { RECONNECT_MS, SqlStore } from './sql-store.js';

/** The leases' clock (`now`) of every server must agree. */
export interface PostgresOptions extends LogStoreOptions {
  /** postgres://user:password@host:port/database?sslmode=… */
  endpoint: string;
  tls?: Tls;
}

export class PostgresStore extends SqlStore<PostgresLog> {
  private listener: pg.Client | undefined;

  private constructor(
    log: PostgresLog,
    private readonly config: pg.ClientConfig,
    rev: number,
    compacted: number,
    opts: PostgresOptions,
  ) {
    super(log, rev, compacted, opts);
  }

  static async open(opts: PostgresOptions): Promise<PostgresStore> {
    const config = clientConfig(opts.endpoint, opts.tls);
    const log = await PostgresLog.open(config, opts.endpoint);
    return SqlStore.start(log, (rev, compacted) => new PostgresStore(log, config, rev, compacted, opts));
  }

  /** Subscribes to commits; after a lost connection, subscribes again and catches up on what it missed. */
  protected async follow(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (n) => {
      if (n.channel === COMPACT_CHANNEL) this.compactedTo(Number(n.payload));
      else this.kick();
    });
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.closed) return;
      const retry = (): void => {
        if (!this.closed) this.follow().catch(() => setTimeout(retry, RECONNECT_MS));
      };
      setTimeout(retry, RECONNECT_MS);
    });
    await client.connect();
    await client.query(`LISTEN ${WRITES_CHANNEL}; LISTEN ${COMPACT_CHANNEL}`);
    this.listener = client;
    if (this.closed) await client.end();
    this.kick();
  }

  protected async unfollow(): Promise<void> {
    await this.listener?.end().catch(() => undefined);
  }
}
