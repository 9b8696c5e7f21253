// The datastore's public face: the Store contract, its errors, and the backends (SQLite in the
// data dir by default, or Postgres shared by any number of servers).
import { KineStore, type KineOptions } from './kine.js';
import { PostgresStore, type PostgresOptions } from './postgres.js';
import type { Store } from './types.js';

export * from './types.js';
export * from './errors.js';
export type { PostgresOptions } from './postgres.js';
export type { Tls } from './postgres-log.js';

export async function openSqliteStore(opts: KineOptions): Promise<Store> {
  return new KineStore(opts);
}

export function openPostgresStore(opts: PostgresOptions): Promise<Store> {
  return PostgresStore.open(opts);
}
