// The append-only revision log in SQLite. Every write is a new row whose id is the new global
// revision, as kine does. Only this module speaks SQL; callers see rows, not statements.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreOpenError } from './errors.js';
import { prefixEnd, type Row, type RowWithPrev } from './log-rows.js';
import { nativeBinding } from './native-binding.js';
import type { StoreLog } from './log-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  lease INTEGER NOT NULL,
  value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS kine_name_id ON kine (name, id);
CREATE INDEX IF NOT EXISTS kine_lease ON kine (lease) WHERE lease != 0;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS leases (id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL);
`;

const WITH_PREV = `SELECT k.*, p.value AS prev_value, p.create_revision AS prev_create_revision, p.lease AS prev_lease
  FROM kine k LEFT JOIN kine p ON p.id = k.prev_revision AND p.deleted = 0`;

/**
 * PRAGMAs without throwaway statements (db.pragma() prepares one per call): settings run through
 * exec, which makes none; a value read is prepared once and kept while the connection lives. Under
 * Node 24 the destructor of a better-sqlite3 12 Statement freed by the garbage collector can abort the
 * process (WiseLibs/better-sqlite3#1515), which is why the single executable is built on Node 22.
 */
class Pragmas {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  set(source: string): void {
    this.db.exec(`PRAGMA ${source}`);
  }

  /** The first column of the first row of `PRAGMA <name>`. */
  value(name: string): unknown {
    let stmt = this.statements.get(name);
    if (!stmt) this.statements.set(name, (stmt = this.db.prepare(`PRAGMA ${name}`).pluck()));
    return stmt.get();
  }
}

function openDatabase(file: string, syncEachCommit: boolean): { db: Database.Database; pragma: Pragmas } {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fresh = (fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) === 0;
  let db: Database.Database;
  let pragma: Pragmas;
  try {
    // better-sqlite3 accepts a loaded addon object too; its type definitions only know paths.
    db = new Database(file, { nativeBinding: nativeBinding(path.dirname(file)) as string | undefined });
  } catch (err) {
    throw new StoreOpenError(`cannot open datastore ${file}: ${(err as Error).message}`);
  }
  try {
    // Exclusive locking holds an OS lock for the connection's life, so a second server on the same
    // data dir is refused, and the kernel drops the lock if this process dies.
    pragma = new Pragmas(db);
    pragma.set('busy_timeout = 0');
    pragma.set('locking_mode = EXCLUSIVE');
    // The pages compaction frees go back to the file system a few at a time (incremental_vacuum after
    // each compaction). Only a new database takes this, before its first page is written (so before
    // WAL mode); an older one is left as it is (see reclaim).
    if (fresh) pragma.set('auto_vacuum = INCREMENTAL');
    pragma.set('journal_mode = WAL');
    db.exec('BEGIN IMMEDIATE; COMMIT');
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY') throw new StoreOpenError(`datastore ${file} is in use by another running skiff server`);
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
      throw new StoreOpenError(`datastore ${file} is corrupt (not a database): left untouched`);
    throw new StoreOpenError(`cannot open datastore ${file}: ${(err as Error).message}`);
  }
  let check: string;
  try {
    check = pragma.value('quick_check') as string;
  } catch (err) {
    check = (err as Error).message;
  }
  if (check !== 'ok') {
    db.close();
    throw new StoreOpenError(`datastore ${file} is corrupt (${check}): left untouched`);
  }
  // FULL: a commit is fsynced before it is acknowledged (NORMAL would lose the last commits on power
  // loss, though never the database's consistency: WAL). NORMAL only until syncEachCommit().
  pragma.set(`synchronous = ${syncEachCommit ? 'FULL' : 'NORMAL'}`);
  db.exec(SCHEMA);
  return { db, pragma };
}

export class SqliteLog implements StoreLog {
  private readonly db: Database.Database;
  private readonly pragma: Pragmas;
  private readonly stmts;

  constructor(
    readonly file: string,
    opts: { deferSync?: boolean } = {},
  ) {
    ({ db: this.db, pragma: this.pragma } = openDatabase(file, !opts.deferSync));
    const db = this.db;
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO kine (name, created, deleted, create_revision, prev_revision, lease, value) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      latest: db.prepare<[string], Row>('SELECT * FROM kine WHERE name = ? ORDER BY id DESC LIMIT 1'),
      latestAt: db.prepare<[string, number], Row>('SELECT * FROM kine WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1'),
      list: db.prepare<[string, string, number, string, number], Row>(
        `SELECT k.* FROM kine k JOIN (
           SELECT MAX(id) AS id FROM kine WHERE name >= ? AND name < ? AND id <= ? AND name > ? GROUP BY name
         ) m ON k.id = m.id WHERE k.deleted = 0 ORDER BY k.name LIMIT ?`,
      ),
      count: db.prepare<[string, string], { n: number }>(
        `SELECT COUNT(*) AS n FROM kine k JOIN (
           SELECT MAX(id) AS id FROM kine WHERE name >= ? AND name < ? GROUP BY name
         ) m ON k.id = m.id WHERE k.deleted = 0`,
      ),
      since: db.prepare<[number, string, string, number], RowWithPrev>(
        `${WITH_PREV} WHERE k.id >= ? AND k.name >= ? AND k.name < ? ORDER BY k.id LIMIT ?`,
      ),
      maxId: db.prepare<[], { id: number | null }>('SELECT MAX(id) AS id FROM kine'),
      sequence: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'kine'"),
      getMeta: db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      // A row that some later row replaced is history; so is a tombstone. Rows newer than the
      // compaction point keep their predecessor, which is the latest row at or before it.
      compactReplaced: db.prepare(
        'DELETE FROM kine WHERE id IN (SELECT prev_revision FROM kine WHERE id > ? AND id <= ? AND prev_revision != 0)',
      ),
      compactTombstones: db.prepare('DELETE FROM kine WHERE id > ? AND id <= ? AND deleted = 1'),
      leaseKeys: db.prepare<[number], Row>(
        `SELECT k.* FROM kine k WHERE k.lease = ? AND k.deleted = 0
           AND k.id = (SELECT MAX(id) FROM kine WHERE name = k.name)`,
      ),
      insertLease: db.prepare('INSERT INTO leases (id, ttl) VALUES (?, ?)'),
      deleteLease: db.prepare('DELETE FROM leases WHERE id = ?'),
      allLeases: db.prepare<[], { id: number; ttl: number }>('SELECT id, ttl FROM leases'),
    };
  }

  /** Every commit from now on is fsynced before it returns; the ones before are synced now. */
  syncEachCommit(): void {
    this.pragma.set('synchronous = FULL');
    this.pragma.set('wal_checkpoint(PASSIVE)');
  }

  get syncsEachCommit(): boolean {
    return this.pragma.value('synchronous') === 2;
  }

  /** The newest revision ever written (ids are never reused, even after compaction). */
  currentRevision(): number {
    return this.stmts.sequence.get()?.seq ?? this.stmts.maxId.get()?.id ?? 0;
  }

  latest(name: string, revision?: number): Row | undefined {
    return revision ? this.stmts.latestAt.get(name, revision) : this.stmts.latest.get(name);
  }

  /** Live keys under a prefix as of `revision`, in key order, starting after `after`. */
  list(prefix: string, revision: number, after: string, limit?: number): Row[] {
    return this.stmts.list.all(prefix, prefixEnd(prefix), revision, after, limit ?? -1);
  }

  count(prefix: string): number {
    return this.stmts.count.get(prefix, prefixEnd(prefix))!.n;
  }

  /** Rows under a prefix from `revision` on, each with the value it replaced. */
  since(prefix: string, revision: number, limit: number): RowWithPrev[] {
    return this.stmts.since.all(revision, prefix, prefixEnd(prefix), limit);
  }

  append(row: Omit<Row, 'id'>): number {
    const r = this.stmts.insert.run(row.name, row.created, row.deleted, row.create_revision, row.prev_revision, row.lease, row.value);
    return Number(r.lastInsertRowid);
  }

  /** Runs fn in one transaction: one fsync for every write inside it. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  meta(key: string): number {
    return this.stmts.getMeta.get(key)?.value ?? 0;
  }

  setMeta(key: string, value: number): void {
    this.stmts.setMeta.run(key, value);
  }

  /** Deletes superseded rows and tombstones with from < id <= to; returns how many went. */
  compactRange(from: number, to: number): number {
    return this.stmts.compactReplaced.run(from, to).changes + this.stmts.compactTombstones.run(from, to).changes;
  }

  /**
   * Rebuilds the database file without its free pages and empties the WAL, so that deleted rows
   * are in neither (VACUUM writes a fresh copy; the TRUNCATE checkpoints zero the WAL's length).
   */
  vacuum(): void {
    this.pragma.set('wal_checkpoint(TRUNCATE)');
    this.db.exec('VACUUM');
    this.pragma.set('wal_checkpoint(TRUNCATE)');
  }

  /**
   * After a compaction: copies the WAL into the database and truncates it to zero bytes (without it
   * the WAL keeps the size of its largest burst), then hands free pages back to the file system:
   * a few at a time with incremental_vacuum when the database was created with auto_vacuum =
   * INCREMENTAL, or with one VACUUM (a full copy, so only when most of the file is free) on older ones.
   */
  reclaim(): { freePages: number; pageSize: number; vacuumed: boolean } {
    const pageSize = this.pragma.value('page_size') as number;
    const pages = this.pragma.value('page_count') as number;
    const free = this.pragma.value('freelist_count') as number;
    let vacuumed = false;
    if (free > 0) {
      if ((this.pragma.value('auto_vacuum') as number) === 2) {
        this.pragma.set(`incremental_vacuum(${free})`);
      } else if (free * 2 > pages && free * pageSize > 8 * 1024 * 1024) {
        this.db.exec('VACUUM');
        vacuumed = true;
      }
    }
    this.pragma.set('wal_checkpoint(TRUNCATE)');
    return { freePages: free, pageSize, vacuumed };
  }

  /**
   * An online copy of the database into `dest` with SQLite's backup API: it copies a batch of pages
   * per event-loop turn, so writes go on meanwhile; a write this connection makes during the copy is
   * carried into it, so the copy is the database as of the moment it completes.
   */
  async backup(dest: string): Promise<void> {
    await this.db.backup(dest);
  }

  keysOfLease(lease: number): Row[] {
    return this.stmts.leaseKeys.all(lease);
  }

  saveLease(id: number, ttl: number): void {
    this.stmts.insertLease.run(id, ttl);
  }

  dropLease(id: number): void {
    this.stmts.deleteLease.run(id);
  }

  leases(): { id: number; ttl: number }[] {
    return this.stmts.allLeases.all();
  }

  close(): void {
    this.db.close();
  }
}
