import path from 'node:path';
import type { Test } from 'tap';
import { openSqliteStore, type Store, type WatchEvent, type Watcher } from '../../src/store/index.js';
import type { KineOptions } from '../../src/store/kine.js';
import { tempDir } from '../helpers/tmp.js';

export async function newStore(t: Test, opts: Partial<KineOptions> = {}): Promise<{ store: Store; file: string }> {
  const file = path.join(tempDir(t), 'db', 'state.db');
  const store = await openSqliteStore({ file, ...opts });
  t.teardown(() => store.close());
  return { store, file };
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
