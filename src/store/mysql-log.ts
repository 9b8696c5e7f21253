// The revision log in MySQL or MariaDB (see sql-log.ts for what it shares with Postgres's): the
// AUTO_INCREMENT id is the global revision. MySQL has no shared advisory lock, so the writers' lock
// is the row lock of a meta row: every write reads it LOCK IN SHARE MODE first in its transaction,
// and a reader waiting for writers reads it FOR UPDATE. Sessions run at READ COMMITTED (no gap
// locks, so a compaction never holds up inserts), with ANSI_QUOTES (the shared SQL's quoting) and in
// strict mode (a key too long for its column is refused, not cut short).
import mysql, { type ResultSetHeader } from 'mysql2/promise';
import { StoreOpenError } from './errors.js';
import type { Row } from './log-rows.js';
import { type MysqlAddress, parseMysqlEndpoint } from './mysql-endpoint.js';
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

const WRITERS_ROW = `SELECT value FROM kine_meta WHERE "key" = 'writers'`;

const DIALECT: Dialect = {
  bigintParam: '?',
  writersShared: `${WRITERS_ROW} LOCK IN SHARE MODE`,
  writersExclusive: `${WRITERS_ROW} FOR UPDATE`,
  // On InnoDB: the table rebuilt from its live rows.
  vacuum: 'OPTIMIZE TABLE kine',
};

function createTable(t: Table): string {
  const indexes = t.indexes.map((i) => `${i.unique ? 'UNIQUE ' : ''}KEY ${i.name} (${i.columns})`);
  return `CREATE TABLE IF NOT EXISTS ${t.name} (${[...t.columns, ...indexes].join(', ')}) ENGINE=InnoDB`;
}

// Keys are bytes: compared byte by byte (UTF-8's order is code points', as etcd's), and without the
// trailing-space padding of MySQL's text collations. 3000 bytes keep an index of (name, id) in InnoDB's 3072.
const SCHEMA = [
  ...kineTables({ serial: 'BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY', key: 'VARBINARY(3000)', bytes: 'LONGBLOB' }).map(createTable),
  `INSERT IGNORE INTO kine_meta ("key", value) VALUES ('compact_rev', 0), ('writers', 0)`,
];

const SESSION = [
  "SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
];

const INSERT = `INSERT INTO kine (${APPEND_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`;

const ER_DUP_ENTRY = 1062;
const ER_LOCK_DEADLOCK = 1213;
const ER_BAD_DB_ERROR = 1049;

/** Statements on a pool or one of its connections. */
function mysqlSql(db: mysql.Pool | mysql.PoolConnection): Sql {
  const header = async (sql: string, params?: unknown[]) => (await db.query(sql, params))[0] as ResultSetHeader;
  return {
    rows: async <T>(sql: string, params?: unknown[]) => (await db.query(sql, params))[0] as T[],
    run: async (sql, params) => (await header(sql, params)).affectedRows ?? 0,
    insert: async (sql, params) => (await header(sql, params)).insertId,
  };
}

function createPool(address: MysqlAddress, tls: Tls | undefined): mysql.Pool {
  const pool = mysql.createPool({
    ...address,
    ssl: readTls(tls),
    connectionLimit: 10,
    // Key columns are VARBINARY; they are read back as the strings they were written as.
    typeCast: (field, next) => (field.name === 'name' ? field.string('utf8') : next()),
  });
  // A pooled connection's own queue runs these before anything it is given.
  pool.pool.on('connection', (conn) => {
    for (const sql of SESSION) conn.query(sql, (err: Error | null) => err && conn.destroy());
  });
  return pool;
}

/** The tables, and first the database if it does not exist yet (as kine does). */
async function createSchema(pool: mysql.Pool, address: MysqlAddress, tls: Tls | undefined): Promise<void> {
  try {
    await pool.query(SCHEMA[0]!);
  } catch (err) {
    if ((err as { errno?: number }).errno !== ER_BAD_DB_ERROR) throw err;
    const conn = await mysql.createConnection({ ...address, database: undefined, ssl: readTls(tls) });
    try {
      await conn.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(address.database)}`);
    } finally {
      await conn.end();
    }
  }
  for (const sql of SCHEMA) await pool.query(sql);
}

export class MysqlLog extends SqlLog {
  private constructor(private readonly pool: mysql.Pool) {
    super(mysqlSql(pool), DIALECT);
  }

  static async open(endpoint: string, tls?: Tls): Promise<MysqlLog> {
    const address = parseMysqlEndpoint(endpoint);
    const pool = createPool(address, tls);
    try {
      await createSchema(pool, address, tls);
    } catch (err) {
      await pool.end();
      throw new StoreOpenError(`cannot open datastore ${redact(endpoint)}: ${(err as Error).message}`);
    }
    return new MysqlLog(pool);
  }

  async append(row: Omit<Row, 'id'>, db?: Sql): Promise<number | undefined> {
    if (!db) {
      return this.transaction(async (tx) => {
        await tx.rows(DIALECT.writersShared);
        return this.append(row, tx);
      });
    }
    // Read with a share lock, so a concurrent revoke either waits for this insert or makes it miss.
    if (row.lease !== 0 && (await db.rows('SELECT id FROM kine_leases WHERE id = ? LOCK IN SHARE MODE', [row.lease])).length === 0) {
      return undefined;
    }
    try {
      return await db.insert(INSERT, appendValues(row));
    } catch (err) {
      // A duplicate (name, prev_revision) is a lost compare-and-swap; a deadlock, a race InnoDB rolled back.
      const errno = (err as { errno?: number }).errno;
      if (errno === ER_DUP_ENTRY || errno === ER_LOCK_DEADLOCK) throw new LostRace();
      throw err;
    }
  }

  protected async connect(): Promise<Connection> {
    const conn = await this.pool.getConnection();
    return { sql: mysqlSql(conn), query: (statement) => conn.query(statement), release: () => conn.release() };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
