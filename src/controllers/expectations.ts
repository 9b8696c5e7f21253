// What a controller has asked for but not yet seen in its informer: until the pods it created or
// deleted show up there, its cache is stale, and acting on it would create or delete twice.
const TTL_MS = 5 * 60_000;

interface Pending {
  adds: number;
  deletes: number;
  since: number;
}

export class Expectations {
  private readonly pending = new Map<string, Pending>();

  expect(key: string, adds: number, deletes: number): void {
    this.pending.set(key, { adds, deletes, since: Date.now() });
  }

  creationObserved(key: string): void {
    const p = this.pending.get(key);
    if (p) p.adds--;
  }

  deletionObserved(key: string): void {
    const p = this.pending.get(key);
    if (p) p.deletes--;
  }

  /** Nothing outstanding (or it has waited too long to trust the count). */
  satisfied(key: string): boolean {
    const p = this.pending.get(key);
    return !p || (p.adds <= 0 && p.deletes <= 0) || Date.now() - p.since > TTL_MS;
  }

  forget(key: string): void {
    this.pending.delete(key);
  }
}

/** The update that first marks an object for deletion (from then on it counts as deleted). */
export const markedForDeletion = (old: { metadata?: { deletionTimestamp?: string } }, obj: { metadata?: { deletionTimestamp?: string } }) =>
  !old.metadata?.deletionTimestamp && !!obj.metadata?.deletionTimestamp;
