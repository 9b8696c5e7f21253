// The append-only revision log in Postgres: the same rows as on SQLite (kine's schema), the id
// sequence being the global revision. Only this module speaks SQL; callers see rows.
//
// Every write runs holding a shared advisory lock (WRITERS) taken before its id is drawn. Ids are
// drawn in order but committed in any order, so a reader may see id 12 before 11 commits; it then
// takes the lock exclusively (waitForWriters), which returns once every writer that drew an id
// before it has committed or rolled back. After that, an id still missing below the newest one seen
// is gone for good (a rolled-back or conflicting insert), and is skipped. Nothing is ever skipped
// on a timeout, and no filler rows are written (kine writes "gap" rows after a wait instead).
import fs from 'node:fs';
import pg from 'pg';
import { StoreOpenError } from './errors.js';
import { prefixEnd, type Row, type RowWithPrev, toKeyValue, tombstoneRow } from './log-rows.js';
import type { StoreLog } from './log-store.js';

/** Notified with every commit, and with the new revision on compaction. */
export const WRITES_CHANNEL = 'skiff_kine';
export const COMPACT_CHANNEL = 'skiff_kine_compact';
/** Advisory lock keys (arbitrary, fixed): one for writers, one for creating the schema. */
const WRITERS = 7_360_101;
const SCHEMA_LOCK = 7_360_102;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kine (
  id BIGSERIAL PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision BIGINT NOT NULL,
  prev_revision BIGINT NOT NULL,
  lease BIGINT NOT NULL,
  value BYTEA NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision ON kine (name, prev_revision);
CREATE INDEX IF NOT EXISTS kine_name_id ON kine (name, id);
CREATE INDEX IF NOT EXISTS kine_lease ON kine (lease) WHERE lease != 0;
CREATE TABLE IF NOT EXISTS kine_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO kine_meta (key, value) VALUES ('compact_rev', 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS kine_leases (id BIGSERIAL PRIMARY KEY, ttl INTEGER NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS kine_leases_expires_at ON kine_leases (expires_at);
`;

const WITH_PREV = `SELECT k.*, p.value AS prev_value, p.create_revision AS prev_create_revision, p.lease AS prev_lease
  FROM kine k LEFT JOIN kine p ON p.id = k.prev_revision AND p.deleted = 0`;

// The advisory lock is in a CTE the insert reads from, so it is held before the id is drawn, and
// the whole write is one statement (one round trip). The unique (name, prev_revision) index lets
// only one write follow any given row of a key: the compare-and-swap, as in kine. A lease is
// checked with FOR SHARE, so a concurrent revoke either waits for this insert or makes it miss.
const INSERT = `
WITH writing AS (SELECT pg_advisory_xact_lock_shared(${WRITERS})),
ins AS (
  INSERT INTO kine (name, created, deleted, create_revision, prev_revision, lease, value)
  SELECT $1, $2, $3, $4, $5, $6::bigint, $7 FROM writing
  WHERE $6::bigint = 0 OR EXISTS (SELECT 1 FROM kine_leases WHERE id = $6::bigint FOR SHARE)
  RETURNING id
)
SELECT id, pg_notify('${WRITES_CHANNEL}', '') FROM ins`;

/** An insert lost the race for its key: another write followed the same row first. */
export class LostRace extends Error {}

export interface Tls {
  cafile?: string;
  certfile?: string;
  keyfile?: string;
}

// BIGINT ids and revisions stay below 2^53 for any real cluster; numbers keep the Store contract.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export function clientConfig(endpoint: string, tls: Tls = {}): pg.ClientConfig {
  const read = (file: string | undefined) => (file ? fs.readFileSync(file) : undefined);
  const ssl =
    tls.cafile || tls.certfile || tls.keyfile ? { ca: read(tls.cafile), cert: read(tls.certfile), key: read(tls.keyfile) } : undefined;
  return { connectionString: endpoint, ssl, types };
}

/** The endpoint without its password, for messages. */
export function redact(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://…';
  }
}

type Queryable = pg.Pool | pg.PoolClient;

export class PostgresLog implements StoreLog {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(config: pg.ClientConfig, endpoint: string): Promise<PostgresLog> {
    const pool = new pg.Pool({ ...config, max: 10 });
    // An idle connection that breaks is replaced on next use; without a listener it would crash the process.
    pool.on('error', () => undefined);
    try {
      // Servers starting together would race to create the tables.
      await pool.query(`BEGIN; SELECT pg_advisory_xact_lock(${SCHEMA_LOCK}); ${SCHEMA} COMMIT`);
    } catch (err) {
      await pool.end();
      throw new StoreOpenError(`cannot open datastore ${redact(endpoint)}: ${(err as Error).message}`);
    }
    return new PostgresLog(pool);
  }

  async maxId(): Promise<number> {
    return (await this.pool.query<{ id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM kine')).rows[0]!.id;
  }

  async compactRevision(): Promise<number> {
    return (await this.pool.query<{ value: number }>("SELECT value FROM kine_meta WHERE key = 'compact_rev'")).rows[0]!.value;
  }

  /** Returns once every write that drew its id before this call has committed or rolled back. */
  async waitForWriters(): Promise<void> {
    await this.pool.query(`BEGIN; SELECT pg_advisory_xact_lock(${WRITERS}); COMMIT`);
  }

  async latest(name: string, revision?: number): Promise<Row | undefined> {
    const r = revision
      ? await this.pool.query<Row>('SELECT * FROM kine WHERE name = $1 AND id <= $2 ORDER BY id DESC LIMIT 1', [name, revision])
      : await this.pool.query<Row>('SELECT * FROM kine WHERE name = $1 ORDER BY id DESC LIMIT 1', [name]);
    return r.rows[0];
  }

  /** Live keys under a prefix as of `revision`, in key order, starting after `after`. */
  async list(prefix: string, revision: number, after: string, limit?: number): Promise<Row[]> {
    const r = await this.pool.query<Row>(
      `SELECT k.* FROM kine k JOIN (
         SELECT MAX(id) AS id FROM kine WHERE name >= $1 AND name < $2 AND id <= $3 AND name > $4 GROUP BY name
       ) m ON k.id = m.id WHERE k.deleted = 0 ORDER BY k.name LIMIT $5`,
      [prefix, prefixEnd(prefix), revision, after, limit ?? null],
    );
    return r.rows;
  }

  async count(prefix: string): Promise<number> {
    const r = await this.pool.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM kine k JOIN (
         SELECT MAX(id) AS id FROM kine WHERE name >= $1 AND name < $2 GROUP BY name
       ) m ON k.id = m.id WHERE k.deleted = 0`,
      [prefix, prefixEnd(prefix)],
    );
    return r.rows[0]!.n;
  }

  /** Every row after `revision`, in revision order, each with the value it replaced. */
  async after(revision: number, limit: number): Promise<RowWithPrev[]> {
    return (await this.pool.query<RowWithPrev>(`${WITH_PREV} WHERE k.id > $1 ORDER BY k.id LIMIT $2`, [revision, limit])).rows;
  }

  /** Rows under a prefix with from <= id <= to, in revision order. */
  async range(prefix: string, from: number, to: number, limit: number): Promise<RowWithPrev[]> {
    const r = await this.pool.query<RowWithPrev>(
      `${WITH_PREV} WHERE k.id >= $1 AND k.id <= $2 AND k.name >= $3 AND k.name < $4 ORDER BY k.id LIMIT $5`,
      [from, to, prefix, prefixEnd(prefix), limit],
    );
    return r.rows;
  }

  /** Appends a row; undefined when its lease does not exist. Throws LostRace on a lost compare-and-swap. */
  async append(row: Omit<Row, 'id'>, db: Queryable = this.pool): Promise<number | undefined> {
    try {
      const r = await db.query<{ id: number }>(INSERT, [
        row.name,
        row.created,
        row.deleted,
        row.create_revision,
        row.prev_revision,
        row.lease,
        row.value,
      ]);
      return r.rows[0]?.id;
    } catch (err) {
      if ((err as { constraint?: string }).constraint === 'kine_name_prev_revision') throw new LostRace();
      throw err;
    }
  }

  /** Runs fn in one transaction on one connection. */
  async transaction<T>(fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Deletes superseded rows and tombstones up to `to`, from wherever the last compaction (by any
   * server) stopped; returns the compact revision afterwards. The meta row's lock serializes servers.
   */
  async compact(to: number): Promise<number> {
    return this.transaction(async (db) => {
      const from = (await db.query<{ value: number }>("SELECT value FROM kine_meta WHERE key = 'compact_rev' FOR UPDATE")).rows[0]!.value;
      if (from >= to) return from;
      await db.query('DELETE FROM kine WHERE id IN (SELECT prev_revision FROM kine WHERE id > $1 AND id <= $2 AND prev_revision != 0)', [
        from,
        to,
      ]);
      await db.query('DELETE FROM kine WHERE id > $1 AND id <= $2 AND deleted = 1', [from, to]);
      await db.query("UPDATE kine_meta SET value = $1 WHERE key = 'compact_rev'", [to]);
      await db.query(`SELECT pg_notify('${COMPACT_CHANNEL}', $1)`, [String(to)]);
      return to;
    });
  }

  /** Rewrites the table without dead rows, so removed history is gone from its files. */
  async vacuum(): Promise<void> {
    await this.pool.query('VACUUM FULL kine');
  }

  async grantLease(ttlSeconds: number, now: number): Promise<number> {
    const r = await this.pool.query<{ id: number }>('INSERT INTO kine_leases (ttl, expires_at) VALUES ($1, $2) RETURNING id', [
      ttlSeconds,
      now + ttlSeconds * 1000,
    ]);
    return r.rows[0]!.id;
  }

  /** False when the lease does not exist. */
  async keepAliveLease(id: number, now: number): Promise<boolean> {
    const r = await this.pool.query('UPDATE kine_leases SET expires_at = $2::bigint + ttl * 1000 WHERE id = $1', [id, now]);
    return r.rowCount === 1;
  }

  async expiredLeases(now: number): Promise<number[]> {
    return (await this.pool.query<{ id: number }>('SELECT id FROM kine_leases WHERE expires_at <= $1', [now])).rows.map((r) => r.id);
  }

  /**
   * Removes a lease (only if expired by `expiredBy`, when given) and tombstones its keys in one
   * transaction; returns the tombstones' revisions, or undefined when there was no such lease. The
   * row lock of the delete makes this happen once, whichever servers try.
   */
  async revokeLease(id: number, expiredBy?: number): Promise<number[] | undefined> {
    return this.transaction(async (db) => {
      const gone =
        expiredBy === undefined
          ? await db.query('DELETE FROM kine_leases WHERE id = $1', [id])
          : await db.query('DELETE FROM kine_leases WHERE id = $1 AND expires_at <= $2', [id, expiredBy]);
      if (gone.rowCount === 0) return undefined;
      const keys = await db.query<Row>(
        `SELECT k.* FROM kine k WHERE k.lease = $1 AND k.deleted = 0
           AND k.id = (SELECT MAX(id) FROM kine WHERE name = k.name)`,
        [id],
      );
      const revisions: number[] = [];
      for (const key of keys.rows) revisions.push((await this.append(tombstoneRow(toKeyValue(key)), db))!);
      return revisions;
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
