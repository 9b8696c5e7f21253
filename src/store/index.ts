// The datastore's public face: the Store contract, its errors, and the SQLite backend.
import { KineStore, type KineOptions } from './kine.js';
import type { Store } from './types.js';

export * from './types.js';
export * from './errors.js';

export async function openSqliteStore(opts: KineOptions): Promise<Store> {
  return new KineStore(opts);
}
