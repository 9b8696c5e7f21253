// Distinct error classes so callers (the API layer) can map them to Kubernetes status codes.

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** create() of a key that already exists. */
export class KeyExistsError extends StoreError {
  constructor(
    readonly key: string,
    readonly revision: number,
  ) {
    super(`key ${key} already exists (revision ${revision})`);
  }
}

/** update()/delete() of a key that does not exist. */
export class KeyNotFoundError extends StoreError {
  constructor(readonly key: string) {
    super(`key ${key} not found`);
  }
}

/** The expected-revision precondition of update()/delete() did not hold. */
export class ConflictError extends StoreError {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`key ${key} is at revision ${actual}, not the expected ${expected}`);
  }
}

/** A read or watch asked for history that compaction has removed. */
export class CompactedError extends StoreError {
  constructor(
    readonly requested: number,
    readonly compactRevision: number,
  ) {
    super(`revision ${requested} has been compacted; the oldest revision available is ${compactRevision + 1}`);
  }
  get oldestAvailable(): number {
    return this.compactRevision + 1;
  }
}

/** A read at a revision the store has not reached yet. */
export class FutureRevisionError extends StoreError {
  constructor(
    readonly requested: number,
    readonly current: number,
  ) {
    super(`revision ${requested} is newer than the current revision ${current}`);
  }
}

/** A watcher fell too far behind and was closed; it must re-list and watch again. */
export class WatcherTooSlowError extends StoreError {
  constructor(
    readonly prefix: string,
    readonly buffered: number,
  ) {
    super(`watcher on ${prefix} fell ${buffered} events behind and was closed`);
  }
}

/** The database could not be opened: corrupt, locked by another server, unreadable. */
export class StoreOpenError extends StoreError {}

export class LeaseNotFoundError extends StoreError {
  constructor(readonly id: number) {
    super(`lease ${id} not found`);
  }
}

export class StoreClosedError extends StoreError {
  constructor() {
    super('the datastore is closed');
  }
}

/** A list continue token that this store did not issue (or for another prefix). */
export class InvalidContinueError extends StoreError {
  constructor(readonly token: string) {
    super('the continue token is not valid');
  }
}
