// The server's datastore and the cluster PKI, which come together: a server alone keeps SQLite in
// its data dir and makes its own CAs; servers sharing a datastore share the CAs through it, sealed
// with the token (bootstrap.ts), so the first one makes them and the others take them.
import path from 'node:path';
import { ensureClusterPki, type ClusterPki } from '../pki/cluster-pki.js';
import { openPostgresStore, openSqliteStore, type Store } from '../store/index.js';
import { saveBootstrap, takeBootstrap } from './bootstrap.js';
import type { ServerConfig } from './config.js';

export interface Datastore<T> {
  store: Store;
  pki: ClusterPki;
  /** What `prepare` made. */
  prepared: T;
}

/** <data-dir>/server/db/state.db: the SQLite datastore of a server alone. */
export const sqliteFile = (dataDir: string) => path.join(dataDir, 'server', 'db', 'state.db');

function openShared(c: ServerConfig): Promise<Store> {
  return openPostgresStore({ endpoint: c.datastoreEndpoint!, tls: c.datastoreTls });
}

/**
 * Opens the datastore and makes (or takes) the PKI. `secret` is the token's: with a shared datastore
 * it names and seals the cluster's bootstrap data there. `prepare` makes the rest of what that data
 * holds (the secrets-encryption config) once the cluster's files are in the data dir, or before
 * this server's are saved.
 */
export async function openDatastore<T>(c: ServerConfig, secret: string, sans: string[], prepare: () => T): Promise<Datastore<T>> {
  const makePki = () => ensureClusterPki(c.dataDir, { sans });
  if (!c.datastoreEndpoint) {
    const store = await openSqliteStore({ file: sqliteFile(c.dataDir) });
    return { store, pki: await makePki(), prepared: prepare() };
  }
  const store = await openShared(c);
  try {
    if (await takeBootstrap(store, c.dataDir, secret)) return { store, pki: await makePki(), prepared: prepare() };
    const pki = await makePki();
    const prepared = prepare();
    if (await saveBootstrap(store, c.dataDir, secret)) return { store, pki, prepared };
    // Another server saved first: its files are taken, and this server's certificates issued again.
    return { store, pki: await makePki(), prepared: prepare() };
  } catch (err) {
    await store.close();
    throw err;
  }
}
