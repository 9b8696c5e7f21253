import path from 'node:path';
import type { Test } from 'tap';
import { openPostgresStore, openSqliteStore, type Store, type WatchEvent, type Watcher } from '../../src/store/index.js';
import type { KineOptions } from '../../src/store/kine.js';
import type { TestPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

/** What every backend takes besides where its data is. */
export type StoreTestOptions = Omit<KineOptions, 'file'>;

export interface TestStore {
  store: Store;
  /** The SQLite file, for tests that look at it; '' on Postgres. */
  file: string;
  /** Another store on the same data: after a restart, or (Postgres) a second server. */
  open(opts?: Partial<StoreTestOptions>): Promise<Store>;
}

/** Where a test's store keeps its data, and how to open (another) store on it. */
export type Backend = (t: Test) => Promise<{ file: string; open: (opts: Partial<StoreTestOptions>) => Promise<Store> }>;

const sqlite: Backend = async (t) => {
  const file = path.join(tempDir(t), 'db', 'state.db');
  return { file, open: (opts) => openSqliteStore({ file, ...opts }) };
};

let backend = sqlite;

/** Runs the store tests of this process against another backend (etcd, MySQL, ...). */
export function useBackend(other: Backend): void {
  backend = other;
}

/** Runs the store tests of this process against a Postgres database (a fresh one per store). */
export function usePostgres(server: TestPostgres): void {
  useBackend(async () => {
    const endpoint = await server.newDatabase();
    return { file: '', open: (opts) => openPostgresStore({ endpoint, ...opts }) };
  });
}

export async function newStore(t: Test, opts: Partial<StoreTestOptions> = {}): Promise<TestStore> {
  const { file, open } = await backend(t);
  const openClosed = async (o: Partial<StoreTestOptions> = {}) => {
    const store = await open(o);
    t.teardown(() => store.close());
    return store;
  };
  return { store: await openClosed(opts), file, open: openClosed };
}

export const b = (s: string): Buffer => Buffer.from(s);

const iterators = new WeakMap<Watcher, AsyncIterator<WatchEvent[]>>();

/** Collects events from a watcher until `count` have arrived or it ends; it stays open. */
export async function take(w: Watcher, count: number): Promise<WatchEvent[]> {
  let it = iterators.get(w);
  if (!it) iterators.set(w, (it = w[Symbol.asyncIterator]()));
  const got: WatchEvent[] = [];
  while (got.length < count) {
    const r = await it.next();
    if (r.done) break;
    got.push(...r.value);
  }
  return got;
}

export function summary(events: WatchEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.kv.key}@${e.kv.modRevision}${e.type === 'put' ? `=${e.kv.value.toString()}` : ''}`);
}
