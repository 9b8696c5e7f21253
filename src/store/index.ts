// The datastore's public face: the Store contract, its errors, and the backends (SQLite in the
// data dir by default, or Postgres or etcd shared by any number of servers).
import type { EtcdOptions } from './etcd.js';
import { KineStore, type KineOptions } from './kine.js';
import type { PostgresOptions } from './postgres.js';
import type { Store } from './types.js';

export * from './types.js';
export * from './errors.js';
export type { PostgresOptions } from './postgres.js';
export type { EtcdOptions } from './etcd.js';
export { parseEtcdEndpoints } from './etcd-endpoints.js';
export type { Tls } from './postgres-log.js';

export async function openSqliteStore(opts: KineOptions): Promise<KineStore> {
  return new KineStore(opts);
}

/** Postgres's driver is loaded only by a server that uses Postgres. */
export async function openPostgresStore(opts: PostgresOptions): Promise<Store> {
  const { PostgresStore } = await import('./postgres.js');
  return PostgresStore.open(opts);
}

/** The etcd client (gRPC and etcd's protocol) is loaded only by a server that uses etcd. */
export async function openEtcdStore(opts: EtcdOptions): Promise<Store> {
  const { EtcdStore } = await import('./etcd.js');
  return EtcdStore.open(opts);
}
