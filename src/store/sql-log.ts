// The revision log on a SQL server that several Skiff servers share (Postgres, MySQL): kine's tables,
// described once and written out in each database's words, and every statement both databases take
// alike (reads, the catch-up read, compaction, leases). A subclass brings the connections and the
// few words that differ; only the log modules speak SQL, callers see rows.
//
// The writers' lock: every write holds it shared from before its id is drawn until it commits. Ids
// are drawn in order but committed in any order, so a reader may see id 12 before 11 commits; it
// then takes the lock exclusively (waitForWriters), which returns once every writer that drew an id
// before it has committed or rolled back. After that, an id still missing below the newest one seen
// is gone for good (a rolled-back or conflicting insert) and is skipped. Nothing is ever skipped on
// a timeout, and no filler rows are written (kine writes "gap" rows after a wait instead).
//
// SQL here marks parameters with `?` and quotes names with double quotes (MySQL sessions run with
// ANSI_QUOTES); the Postgres log numbers the parameters.
import fs from 'node:fs';
import { prefixEnd, type Row, type RowWithPrev, toKeyValue, tombstoneRow } from './log-rows.js';
import type { StoreLog } from './log-store.js';

export interface Tls {
  cafile?: string;
  certfile?: string;
  keyfile?: string;
}

/** The files named in `tls`, read; undefined when none is named (an unencrypted connection). */
export function readTls(tls: Tls = {}): { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined {
  if (!tls.cafile && !tls.certfile && !tls.keyfile) return undefined;
  const read = (file: string | undefined) => (file ? fs.readFileSync(file) : undefined);
  return { ca: read(tls.cafile), cert: read(tls.certfile), key: read(tls.keyfile) };
}

/** The endpoint without its password, for messages (scheme://user:***@…). */
export function redact(endpoint: string): string {
  return endpoint.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):.*@/i, '$1:***@');
}

/** An insert lost the race for its key: another write followed the same row first. */
export class LostRace extends Error {}

/** Statements on the pool, or on the one connection of a transaction. */
export interface Sql {
  rows<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** How many rows the statement changed (for an UPDATE, how many it matched). */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** Runs an INSERT of one row into a table with a serial id; the new row's id. */
  insert(sql: string, params?: unknown[]): Promise<number>;
}

/** One connection taken from the pool: statements on it, and how it goes back. */
export interface Connection {
  sql: Sql;
  query(statement: 'BEGIN' | 'COMMIT' | 'ROLLBACK'): Promise<unknown>;
  release(): void;
}

/** The statements that differ between the databases. */
export interface Dialect {
  /** A parameter used as a BIGINT in arithmetic with an INTEGER column (Postgres would take it for an INTEGER). */
  bigintParam: string;
  /** Takes the writers' lock, shared or exclusive, until the transaction ends. */
  writersShared: string;
  writersExclusive: string;
  /** Rewrites the log table without dead rows, so removed history is gone from its files. */
  vacuum: string;
}

/** Column types: a BIGINT primary key drawn from a sequence, a key compared byte by byte, bytes. */
export interface ColumnTypes {
  serial: string;
  key: string;
  bytes: string;
}

export interface Table {
  name: string;
  columns: string[];
  /** `where`: a partial index where the database has them, else an index of every row. */
  indexes: { name: string; columns: string; unique?: boolean; where?: string }[];
}

/** kine's tables: the log, the meta row of the compact revision, the leases. */
export function kineTables(t: ColumnTypes): Table[] {
  return [
    {
      name: 'kine',
      columns: [
        `id ${t.serial}`,
        `name ${t.key} NOT NULL`,
        'created INTEGER NOT NULL',
        'deleted INTEGER NOT NULL',
        'create_revision BIGINT NOT NULL',
        'prev_revision BIGINT NOT NULL',
        'lease BIGINT NOT NULL',
        `value ${t.bytes} NOT NULL`,
      ],
      indexes: [
        // Only one write may follow any given row of a key: the compare-and-swap, as in kine.
        { name: 'kine_name_prev_revision', columns: 'name, prev_revision', unique: true },
        { name: 'kine_name_id', columns: 'name, id' },
        { name: 'kine_lease', columns: 'lease', where: 'lease != 0' },
      ],
    },
    { name: 'kine_meta', columns: [`"key" ${t.key} PRIMARY KEY`, 'value BIGINT NOT NULL'], indexes: [] },
    {
      name: 'kine_leases',
      columns: [`id ${t.serial}`, 'ttl INTEGER NOT NULL', 'expires_at BIGINT NOT NULL'],
      indexes: [{ name: 'kine_leases_expires_at', columns: 'expires_at' }],
    },
  ];
}

/** The columns an append writes, and a row's values in their order. */
export const APPEND_COLUMNS = 'name, created, deleted, create_revision, prev_revision, lease, value';
export const appendValues = (row: Omit<Row, 'id'>): unknown[] => [
  row.name,
  row.created,
  row.deleted,
  row.create_revision,
  row.prev_revision,
  row.lease,
  row.value,
];

const COMPACT_REV = `SELECT value FROM kine_meta WHERE "key" = 'compact_rev'`;

const WITH_PREV = `SELECT k.*, p.value AS prev_value, p.create_revision AS prev_create_revision, p.lease AS prev_lease
  FROM kine k LEFT JOIN kine p ON p.id = k.prev_revision AND p.deleted = 0`;

export abstract class SqlLog implements StoreLog {
  protected constructor(
    protected readonly db: Sql,
    private readonly dialect: Dialect,
  ) {}

  /** A connection of its own from the pool, for a transaction. */
  protected abstract connect(): Promise<Connection>;
  /**
   * Appends a row holding the writers' lock from before its id is drawn (in `db`, a transaction that
   * holds it already); undefined when its lease does not exist. Throws LostRace on a lost compare-and-swap.
   */
  abstract append(row: Omit<Row, 'id'>, db?: Sql): Promise<number | undefined>;
  abstract close(): Promise<void>;

  /** Runs fn in one transaction on one connection. */
  async transaction<T>(fn: (db: Sql) => Promise<T>): Promise<T> {
    const conn = await this.connect();
    try {
      await conn.query('BEGIN');
      const result = await fn(conn.sql);
      await conn.query('COMMIT');
      return result;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  /** Tells the other servers of a compaction, inside its transaction; without this they read the meta row. */
  protected async announceCompaction(_db: Sql, _to: number): Promise<void> {}

  /** The newest id committed and the compact revision, in one read. */
  async head(): Promise<{ head: number; compacted: number }> {
    const r = await this.db.rows<{ head: number; compacted: number }>(
      `SELECT COALESCE(MAX(id), 0) AS head, (${COMPACT_REV}) AS compacted FROM kine`,
    );
    return r[0]!;
  }

  /** Returns once every write that drew its id before this call has committed or rolled back. */
  async waitForWriters(): Promise<void> {
    await this.transaction((db) => db.rows(this.dialect.writersExclusive));
  }

  async latest(name: string, revision?: number): Promise<Row | undefined> {
    const r = revision
      ? await this.db.rows<Row>('SELECT * FROM kine WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1', [name, revision])
      : await this.db.rows<Row>('SELECT * FROM kine WHERE name = ? ORDER BY id DESC LIMIT 1', [name]);
    return r[0];
  }

  /** Live keys under a prefix as of `revision`, in key order, starting after `after`. */
  list(prefix: string, revision: number, after: string, limit?: number): Promise<Row[]> {
    return this.db.rows<Row>(
      `SELECT k.* FROM kine k JOIN (
         SELECT MAX(id) AS id FROM kine WHERE name >= ? AND name < ? AND id <= ? AND name > ? GROUP BY name
       ) m ON k.id = m.id WHERE k.deleted = 0 ORDER BY k.name LIMIT ?`,
      [prefix, prefixEnd(prefix), revision, after, limit ?? Number.MAX_SAFE_INTEGER],
    );
  }

  async count(prefix: string): Promise<number> {
    const r = await this.db.rows<{ n: number }>(
      `SELECT COUNT(*) AS n FROM kine k JOIN (
         SELECT MAX(id) AS id FROM kine WHERE name >= ? AND name < ? GROUP BY name
       ) m ON k.id = m.id WHERE k.deleted = 0`,
      [prefix, prefixEnd(prefix)],
    );
    return r[0]!.n;
  }

  /** Every row after `revision`, in revision order, each with the value it replaced. */
  after(revision: number, limit: number): Promise<RowWithPrev[]> {
    return this.db.rows<RowWithPrev>(`${WITH_PREV} WHERE k.id > ? ORDER BY k.id LIMIT ?`, [revision, limit]);
  }

  /** Rows under a prefix with from <= id <= to, in revision order. */
  range(prefix: string, from: number, to: number, limit: number): Promise<RowWithPrev[]> {
    return this.db.rows<RowWithPrev>(`${WITH_PREV} WHERE k.id >= ? AND k.id <= ? AND k.name >= ? AND k.name < ? ORDER BY k.id LIMIT ?`, [
      from,
      to,
      prefix,
      prefixEnd(prefix),
      limit,
    ]);
  }

  /**
   * Deletes superseded rows and tombstones up to `to`, from wherever the last compaction (by any
   * server) stopped; returns the compact revision afterwards. The meta row's lock serializes servers.
   */
  compact(to: number): Promise<number> {
    return this.transaction(async (db) => {
      const from = (await db.rows<{ value: number }>(`${COMPACT_REV} FOR UPDATE`))[0]!.value;
      if (from >= to) return from;
      // The inner select is a derived table so that MySQL reads the table it deletes from.
      await db.run(
        `DELETE FROM kine WHERE id IN (
           SELECT prev_revision FROM (SELECT prev_revision FROM kine WHERE id > ? AND id <= ? AND prev_revision != 0) AS replaced
         )`,
        [from, to],
      );
      await db.run('DELETE FROM kine WHERE id > ? AND id <= ? AND deleted = 1', [from, to]);
      await db.run(`UPDATE kine_meta SET value = ? WHERE "key" = 'compact_rev'`, [to]);
      await this.announceCompaction(db, to);
      return to;
    });
  }

  async vacuum(): Promise<void> {
    await this.db.run(this.dialect.vacuum);
  }

  grantLease(ttlSeconds: number, now: number): Promise<number> {
    return this.db.insert('INSERT INTO kine_leases (ttl, expires_at) VALUES (?, ?)', [ttlSeconds, now + ttlSeconds * 1000]);
  }

  /** False when the lease does not exist. */
  async keepAliveLease(id: number, now: number): Promise<boolean> {
    const changed = await this.db.run(`UPDATE kine_leases SET expires_at = ${this.dialect.bigintParam} + ttl * 1000 WHERE id = ?`, [
      now,
      id,
    ]);
    return changed === 1;
  }

  async expiredLeases(now: number): Promise<number[]> {
    return (await this.db.rows<{ id: number }>('SELECT id FROM kine_leases WHERE expires_at <= ?', [now])).map((r) => r.id);
  }

  /**
   * Removes a lease (only if expired by `expiredBy`, when given) and tombstones its keys in one
   * transaction; returns the tombstones' revisions, or undefined when there was no such lease. The
   * row lock of the delete makes this happen once, whichever servers try.
   */
  revokeLease(id: number, expiredBy?: number): Promise<number[] | undefined> {
    return this.transaction(async (db) => {
      // Taken first, as every write takes it before the lease row: the same order, so no deadlock.
      await db.rows(this.dialect.writersShared);
      const gone =
        expiredBy === undefined
          ? await db.run('DELETE FROM kine_leases WHERE id = ?', [id])
          : await db.run('DELETE FROM kine_leases WHERE id = ? AND expires_at <= ?', [id, expiredBy]);
      if (gone === 0) return undefined;
      const keys = await db.rows<Row>(
        `SELECT k.* FROM kine k WHERE k.lease = ? AND k.deleted = 0
           AND k.id = (SELECT MAX(id) FROM kine WHERE name = k.name)`,
        [id],
      );
      const revisions: number[] = [];
      for (const key of keys) revisions.push((await this.append(tombstoneRow(toKeyValue(key)), db))!);
      return revisions;
    });
  }
}
