// The kine-style store on MySQL or MariaDB, shared by any number of servers (see sql-store.ts for
// how each server follows the log). MySQL has no LISTEN/NOTIFY, so, as kine does, each server polls:
// it reads the head of the log (the newest id and the compact revision, in one read) and runs the
// ordered catch-up when the head has moved past what it has seen. Writes made through this server
// are followed at once, without waiting for a poll.
import type { LogStoreOptions } from './log-store.js';
import { MysqlLog } from './mysql-log.js';
import type { Tls } from './sql-log.js';
import { RECONNECT_MS, SqlStore } from './sql-store.js';
import type { Store } from './types.js';

/** The leases' clock (`now`) of every server must agree. */
export interface MysqlOptions extends LogStoreOptions {
  /**
   * mysql://user:password@tcp(host:port)/database (K3s's form), mysql://user:password@unix(/path/to/socket)/database
   * or mysql://user:password@host:port/database; see mysql-endpoint.ts for the defaults.
   */
  endpoint: string;
  tls?: Tls;
}

/**
 * How often the head is read: every 25 ms while the log moves (a write by another server reaches the
 * watchers here within that, well under what a controller or a person notices), doubling up to every
 * 250 ms while it stands still. The read is one lookup at the end of the primary key, so even the
 * fast rate (40 a second per server) costs the database next to nothing; kine polls once a second.
 */
const POLL_ACTIVE_MS = 25;
const POLL_IDLE_MS = 250;

export class MysqlStore extends SqlStore<MysqlLog> {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private interval = POLL_ACTIVE_MS;
  /** The revision this server had seen at the last poll. */
  private polledAt = 0;

  static async open(opts: MysqlOptions): Promise<MysqlStore> {
    const log = await MysqlLog.open(opts.endpoint, opts.tls);
    return SqlStore.start(log, (rev, compacted) => new MysqlStore(log, rev, compacted, opts));
  }

  protected async follow(): Promise<void> {
    this.polledAt = this.rev;
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
        if (!this.closed) this.schedule();
      });
    }, this.interval);
  }

  private async poll(): Promise<void> {
    try {
      const { head, compacted } = await this.log.head();
      this.compactedTo(compacted);
      // The log moved if rows are waiting here or this server's revision moved since the last poll.
      const moved = head > this.rev || this.rev > this.polledAt;
      if (head > this.rev) this.kick();
      this.interval = moved ? POLL_ACTIVE_MS : Math.min(this.interval * 2, POLL_IDLE_MS);
    } catch {
      this.interval = RECONNECT_MS;
    }
    this.polledAt = this.rev;
  }

  protected async unfollow(): Promise<void> {
    clearTimeout(this.timer);
    await this.polling;
  }
}

export function openMysqlStore(opts: MysqlOptions): Promise<Store> {
  return MysqlStore.open(opts);
}
