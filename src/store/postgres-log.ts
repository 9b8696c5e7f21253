// The revision log in Postgres (see sql-log.ts for what it shares with MySQL's): the id sequence is
// the global revision, the writers' lock an advisory lock, and every commit and compaction is
// announced to the other servers with NOTIFY.
import pg from 'pg';
import { StoreOpenError } from './errors.js';
import type { Row } from './log-rows.js';
import {
  APPEND_COLUMNS,
  appendValues,
  type Connection,
  type Dialect,
  kineTables,
  LostRace,
  readTls,
  redact,
  type Sql,
  SqlLog,
  type Table,
  type Tls,
} from './sql-log.js';

export type { Tls } from './sql-log.js';

/** Notified with every commit, and with the new revision on compaction. */
export const WRITES_CHANNEL = 'skiff_kine';
export const COMPACT_CHANNEL = 'skiff_kine_compact';
/** Advisory lock keys (arbitrary, fixed): one for writers, one for creating the schema. */
const WRITERS = 7_360_101;
const SCHEMA_LOCK = 7_360_102;

const DIALECT: Dialect = {
  bigintParam: '?::bigint',
  writersShared: `SELECT pg_advisory_xact_lock_shared(${WRITERS})`,
  writersExclusive: `SELECT pg_advisory_xact_lock(${WRITERS})`,
  vacuum: 'VACUUM FULL kine',
};

function createTable(t: Table): string {
  const indexes = t.indexes.map(
    (i) =>
      `CREATE ${i.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${i.name} ON ${t.name} (${i.columns})${i.where ? ` WHERE ${i.where}` : ''};`,
  );
  return [`CREATE TABLE IF NOT EXISTS ${t.name} (${t.columns.join(', ')});`, ...indexes].join('\n');
}

const SCHEMA = `${kineTables({ serial: 'BIGSERIAL PRIMARY KEY', key: 'TEXT COLLATE "C"', bytes: 'BYTEA' }).map(createTable).join('\n')}
INSERT INTO kine_meta ("key", value) VALUES ('compact_rev', 0) ON CONFLICT DO NOTHING;`;

// The writers' lock is in a CTE the insert reads from, so it is held before the id is drawn, and
// the whole write is one statement (one round trip). A lease is checked with FOR SHARE, so a
// concurrent revoke either waits for this insert or makes it miss.
const INSERT = `
WITH writing AS (${DIALECT.writersShared}),
ins AS (
  INSERT INTO kine (${APPEND_COLUMNS})
  SELECT $1, $2, $3, $4, $5, $6::bigint, $7 FROM writing
  WHERE $6::bigint = 0 OR EXISTS (SELECT 1 FROM kine_leases WHERE id = $6::bigint FOR SHARE)
  RETURNING id
)
SELECT id, pg_notify('${WRITES_CHANNEL}', '') FROM ins`;

// BIGINT ids and revisions stay below 2^53 for any real cluster; numbers keep the Store contract.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export function clientConfig(endpoint: string, tls?: Tls): pg.ClientConfig {
  return { connectionString: endpoint, ssl: readTls(tls), types };
}

/** Statements on a pool or client, their `?` parameters numbered as Postgres wants them. */
function postgresSql(db: pg.Pool | pg.PoolClient): Sql {
  const query = <T extends pg.QueryResultRow>(sql: string, params?: unknown[]) => {
    let n = 0;
    return db.query<T>(
      sql.replace(/\?/g, () => `$${++n}`),
      params,
    );
  };
  return {
    rows: async <T>(sql: string, params?: unknown[]) => (await query(sql, params)).rows as T[],
    run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
    insert: async (sql, params) => (await query<{ id: number }>(`${sql} RETURNING id`, params)).rows[0]!.id,
  };
}

export class PostgresLog extends SqlLog {
  private constructor(private readonly pool: pg.Pool) {
    super(postgresSql(pool), DIALECT);
  }

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

  async append(row: Omit<Row, 'id'>, db: Sql = this.db): Promise<number | undefined> {
    try {
      const r = await db.rows<{ id: number }>(INSERT, appendValues(row));
      return r[0]?.id;
    } catch (err) {
      if ((err as { constraint?: string }).constraint === 'kine_name_prev_revision') throw new LostRace();
      throw err;
    }
  }

  protected async connect(): Promise<Connection> {
    const client = await this.pool.connect();
    return { sql: postgresSql(client), query: (statement) => client.query(statement), release: () => client.release() };
  }

  protected override async announceCompaction(db: Sql, to: number): Promise<void> {
    await db.rows(`SELECT pg_notify('${COMPACT_CHANNEL}', ?)`, [String(to)]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
