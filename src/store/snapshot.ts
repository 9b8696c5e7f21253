// Snapshots of the SQLite datastore, as K3s's etcd snapshots: files named <name>-<node>-<unix time>
// in one folder (<data-dir>/server/db/snapshots by default), taken online from the running server
// (the backup API, writes go on) or from the file of a stopped one; listed, deleted, pruned to the
// newest N of a name; and restored into a stopped server's data dir, the old database moved aside.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreOpenError } from './errors.js';
import { nativeBinding } from './native-binding.js';

/** K3s's base names: on-demand for `save`, etcd-snapshot for the scheduled ones. */
export const ON_DEMAND = 'on-demand';
export const SCHEDULED = 'etcd-snapshot';

/** A name or path the user gave is not usable (exit 2 at the CLI). */
export class SnapshotUsageError extends Error {
  override name = 'SnapshotUsageError';
}
/** A snapshot that should be there is not, or a file is not a snapshot (exit 1). */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

export interface SnapshotFile {
  name: string;
  /** file:///... as K3s prints it. */
  location: string;
  path: string;
  size: number;
  created: Date;
}

/** Something that can copy its datastore online (the SQLite and etcd stores). */
export interface Snapshottable {
  snapshot(file: string): Promise<void>;
}

export function canSnapshot(store: unknown): store is Snapshottable {
  return typeof (store as Partial<Snapshottable>)?.snapshot === 'function';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export function checkName(name: string, what = 'snapshot name'): string {
  if (!NAME.test(name)) throw new SnapshotUsageError(`invalid ${what} "${name}": letters, digits, '.', '_' and '-' only`);
  return name;
}

/** K3s's file name: <name>-<node>-<unix seconds>. */
export function snapshotName(base: string, node: string, now: Date = new Date()): string {
  return `${checkName(base)}-${node}-${Math.floor(now.getTime() / 1000)}`;
}

/** The unix time at the end of a snapshot's name (0 when it has none). */
function stamp(name: string): number {
  const m = /-(\d+)$/.exec(name);
  return m ? Number(m[1]) : 0;
}

/** Every snapshot in dir, oldest first (by the time in the name, then the file's). */
export function listSnapshots(dir: string): SnapshotFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: SnapshotFile[] = [];
  for (const name of names) {
    if (!NAME.test(name) || name.endsWith('.tmp')) continue;
    const file = path.join(dir, name);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    const created = stamp(name) ? new Date(stamp(name) * 1000) : st.mtime;
    files.push({ name, path: file, location: `file://${file}`, size: st.size, created });
  }
  return files.sort((a, b) => a.created.getTime() - b.created.getTime() || a.name.localeCompare(b.name));
}

/** K3s's `etcd-snapshot ls` table: Name, Location, Size, Created, columns as Go's tabwriter makes them. */
export function snapshotTable(files: SnapshotFile[]): string {
  const rows = [
    ['Name', 'Location', 'Size', 'Created'],
    ...files.map((f) => [f.name, f.location, String(f.size), f.created.toISOString().replace(/\.\d{3}Z$/, 'Z')]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)) + 1);
  return `${rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('')).join('\n')}\n`;
}

/** Removes the named snapshots; every name must be one in dir. Returns the paths removed. */
export function deleteSnapshots(dir: string, names: string[]): string[] {
  const files = names.map((name) => {
    checkName(name);
    const file = path.join(dir, name);
    if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) throw new SnapshotError(`no snapshot ${name} in ${dir}`);
    return file;
  });
  for (const file of files) fs.rmSync(file);
  return files;
}

/** Keeps the newest `retention` snapshots whose name is <prefix>-...-<time>; returns the paths removed. */
export function pruneSnapshots(dir: string, prefix: string, retention: number): string[] {
  checkName(prefix);
  if (!Number.isInteger(retention) || retention < 1) throw new SnapshotUsageError(`invalid retention ${retention}: at least 1`);
  const ours = listSnapshots(dir).filter((f) => f.name.startsWith(`${prefix}-`) && stamp(f.name) > 0);
  const doomed = ours.slice(0, Math.max(0, ours.length - retention));
  for (const f of doomed) fs.rmSync(f.path);
  return doomed.map((f) => f.path);
}

/** Opens a SQLite file with better-sqlite3's addon (from next to the file, as the store does). */
function open(file: string, readonly: boolean): Database.Database {
  return new Database(file, {
    readonly,
    fileMustExist: true,
    // A running server holds its database locked for good: waiting would not help.
    timeout: 0,
    nativeBinding: nativeBinding(path.dirname(file)) as string | undefined,
  });
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0');

function isSqlite(file: string): boolean {
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  return head.equals(SQLITE_MAGIC);
}

/**
 * Writes a finished copy in place: fsynced, then renamed to its name. A SQLite copy is made one file
 * (no WAL) and checked first; an etcd snapshot was checked by its store against its sha256.
 */
function seal(tmp: string, dest: string): void {
  if (isSqlite(tmp)) {
    const db = open(tmp, false);
    try {
      db.pragma('journal_mode = DELETE');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new SnapshotError(`the snapshot copy failed its check: ${String(check)}`);
    } finally {
      db.close();
    }
  }
  const fd = fs.openSync(tmp, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, dest);
  const dirFd = fs.openSync(path.dirname(dest), 'r');
  fs.fsyncSync(dirFd);
  fs.closeSync(dirFd);
}

function prepare(dir: string, name: string): { tmp: string; dest: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dest = path.join(dir, checkName(name));
  if (fs.existsSync(dest)) throw new SnapshotError(`snapshot ${dest} already exists`);
  const tmp = `${dest}.tmp`;
  fs.rmSync(tmp, { force: true });
  return { tmp, dest };
}

/** A snapshot of the running server's store (online: the backup API, writes are not paused). */
export async function saveSnapshot(store: Snapshottable, dir: string, name: string): Promise<SnapshotFile> {
  const { tmp, dest } = prepare(dir, name);
  try {
    await store.snapshot(tmp);
    seal(tmp, dest);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return describe(dest);
}

function isBusy(err: unknown): boolean {
  return /^SQLITE_BUSY/.test((err as { code?: string }).code ?? '');
}

/**
 * A snapshot of a stopped server's database file. Returns undefined when a running server holds the
 * file (its lock): then only that server can copy it.
 */
export async function saveSnapshotOfFile(dbFile: string, dir: string, name: string): Promise<SnapshotFile | undefined> {
  if (!fs.existsSync(dbFile)) throw new SnapshotError(`no datastore at ${dbFile}: is --data-dir right?`);
  let db: Database.Database;
  try {
    db = open(dbFile, false);
    db.exec('BEGIN IMMEDIATE; COMMIT');
  } catch (err) {
    if (isBusy(err)) return undefined;
    throw new StoreOpenError(`cannot open datastore ${dbFile}: ${(err as Error).message}`);
  }
  const { tmp, dest } = prepare(dir, name);
  try {
    await db.backup(tmp);
    db.close();
    seal(tmp, dest);
  } finally {
    if (db.open) db.close();
    fs.rmSync(tmp, { force: true });
  }
  return describe(dest);
}

function describe(file: string): SnapshotFile {
  const name = path.basename(file);
  const st = fs.statSync(file);
  return { name, path: file, location: `file://${file}`, size: st.size, created: stamp(name) ? new Date(stamp(name) * 1000) : st.mtime };
}

/** Checks that `file` is a Skiff SQLite datastore that passes SQLite's check; returns its revision. */
function checkSnapshot(file: string): number {
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) throw new SnapshotUsageError(`no snapshot file ${file}`);
  let db: Database.Database | undefined;
  try {
    db = open(file, true);
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(String(check));
    db.prepare('SELECT 1 FROM kine LIMIT 1').get();
    const seq = db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'kine'").get();
    return seq?.seq ?? 0;
  } catch (err) {
    throw new SnapshotError(`${file} is not a Skiff SQLite snapshot: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}

/** The newest revision of the database being replaced, 0 when it cannot be read; throws when it is in use. */
function currentRevision(dbFile: string): number {
  if (!fs.existsSync(dbFile)) return 0;
  let db: Database.Database | undefined;
  try {
    db = open(dbFile, false);
    db.exec('BEGIN IMMEDIATE; COMMIT');
    return db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'kine'").get()?.seq ?? 0;
  } catch (err) {
    if (isBusy(err)) throw new StoreOpenError(`datastore ${dbFile} is in use by a running skiff server: stop it before restoring`);
    return 0; // a corrupt database is a reason to restore, not a reason to refuse
  } finally {
    db?.close();
  }
}

export interface RestoreResult {
  /** Where the replaced database went (undefined when there was none). */
  oldDir?: string;
  revision: number;
}

/**
 * Replaces the datastore at dbFile with a snapshot; the server must be stopped. The old database
 * (with its WAL) moves to <db dir>/sqlite-old-<unix time>/, as K3s moves etcd's data to etcd-old-.
 * Revisions go on from above both the old database's and the snapshot's, and everything before is
 * marked compacted: a client that watched the old database relists instead of resuming from a
 * revision that now means something else (etcd's restore --bump-revision --mark-compacted).
 */
export function restoreSnapshot(dbFile: string, snapshot: string): RestoreResult {
  const snapRevision = checkSnapshot(snapshot);
  const oldRevision = currentRevision(dbFile);
  const dbDir = path.dirname(dbFile);
  fs.mkdirSync(dbDir, { recursive: true, mode: 0o700 });
  const tmp = `${dbFile}.restore.tmp`;
  fs.copyFileSync(snapshot, tmp);
  const revision = Math.max(snapRevision, oldRevision) + 1;
  const db = open(tmp, false);
  try {
    db.pragma('journal_mode = DELETE');
    db.transaction(() => {
      const compacted = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE key = 'compact_rev'").get()?.value ?? 0;
      // History in the snapshot goes now, as compaction would have: nothing can read it any more.
      db.prepare('DELETE FROM kine WHERE id IN (SELECT prev_revision FROM kine WHERE id > ? AND prev_revision != 0)').run(compacted);
      db.prepare('DELETE FROM kine WHERE id > ? AND deleted = 1').run(compacted);
      db.prepare("INSERT INTO meta (key, value) VALUES ('compact_rev', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
        revision,
      );
      const seq = db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'kine'").run(revision);
      if (seq.changes === 0) db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('kine', ?)").run(revision);
    })();
  } finally {
    db.close();
  }
  let oldDir: string | undefined;
  const old = ['', '-wal', '-shm'].map((s) => `${dbFile}${s}`).filter((f) => fs.existsSync(f));
  if (old.length > 0) {
    oldDir = path.join(dbDir, `sqlite-old-${Math.floor(Date.now() / 1000)}`);
    fs.mkdirSync(oldDir, { recursive: true, mode: 0o700 });
    for (const f of old) fs.renameSync(f, path.join(oldDir, path.basename(f)));
  }
  const fd = fs.openSync(tmp, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, dbFile);
  return { oldDir, revision };
}
