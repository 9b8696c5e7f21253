// What every kine-style log shares once a row is read: rows to key/values and watch events, the
// list continue token, and the rows a create, update or delete appends (with the checks before
// them). The SQL behind the rows differs per backend; this does not.
import { ConflictError, InvalidContinueError, KeyExistsError, KeyNotFoundError } from './errors.js';
import type { KeyValue, WatchEvent } from './types.js';

export interface Row {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  lease: number;
  value: Buffer;
}

/** A row joined with the value it replaced (null when there was none or it was compacted). */
export interface RowWithPrev extends Row {
  prev_value: Buffer | null;
  prev_create_revision: number | null;
  prev_lease: number | null;
}

export const EMPTY = Buffer.alloc(0);

export function toKeyValue(row: Row): KeyValue {
  return {
    key: row.name,
    value: row.value,
    createRevision: row.created ? row.id : row.create_revision,
    modRevision: row.id,
    lease: row.lease,
  };
}

export function toEvent(row: RowWithPrev): WatchEvent {
  const prev: KeyValue | undefined =
    row.prev_value === null
      ? undefined
      : {
          key: row.name,
          value: row.prev_value,
          createRevision: row.prev_create_revision!,
          modRevision: row.prev_revision,
          lease: row.prev_lease!,
        };
  if (row.deleted) return { type: 'delete', kv: { ...toKeyValue(row), value: EMPTY, lease: 0 }, prev };
  return { type: 'put', kv: toKeyValue(row), prev };
}

export function encodeContinue(revision: number, after: string): string {
  return Buffer.from(JSON.stringify({ rev: revision, after })).toString('base64url');
}

export function decodeContinue(token: string, prefix: string): { rev: number; after: string } {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString()) as { rev: unknown; after: unknown };
    if (Number.isInteger(c.rev) && typeof c.after === 'string' && c.after.startsWith(prefix)) {
      return { rev: c.rev as number, after: c.after };
    }
  } catch {
    // fall through to the error below
  }
  throw new InvalidContinueError(token);
}

/** The smallest string greater than every string that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  if (prefix.length > 0 && last < 0xd7ff) return prefix.slice(0, -1) + String.fromCharCode(last + 1);
  return `${prefix}\u{10ffff}`;
}

/** Refuses a create when the key is live. */
export function assertAbsent(key: string, latest: Row | undefined): void {
  if (latest && !latest.deleted) throw new KeyExistsError(key, latest.id);
}

/** The live value of key, checked against the caller's expected revision. */
export function liveValue(key: string, latest: Row | undefined, expectedRevision: number | undefined): KeyValue {
  if (!latest || latest.deleted) throw new KeyNotFoundError(key);
  if (expectedRevision !== undefined && expectedRevision !== latest.id) throw new ConflictError(key, expectedRevision, latest.id);
  return toKeyValue(latest);
}

/** The row that creates key, following its latest row (a tombstone) if there is one. */
export function createRow(key: string, value: Buffer, lease: number, latest: Row | undefined): Omit<Row, 'id'> {
  return { name: key, created: 1, deleted: 0, create_revision: 0, prev_revision: latest?.id ?? 0, lease, value };
}

export function updateRow(prev: KeyValue, value: Buffer, lease: number): Omit<Row, 'id'> {
  return { name: prev.key, created: 0, deleted: 0, create_revision: prev.createRevision, prev_revision: prev.modRevision, lease, value };
}

export function tombstoneRow(prev: KeyValue): Omit<Row, 'id'> {
  return {
    name: prev.key,
    created: 0,
    deleted: 1,
    create_revision: prev.createRevision,
    prev_revision: prev.modRevision,
    lease: 0,
    value: EMPTY,
  };
}
