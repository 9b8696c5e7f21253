// The datastore contract shared by every backend (SQLite now, Raft-replicated later).
// Keys are strings, values opaque bytes; revisions are one global, increasing counter.

export interface KeyValue {
  key: string;
  value: Buffer;
  /** Revision at which this key was (last) created. */
  createRevision: number;
  /** Revision of the write that produced this value. */
  modRevision: number;
  /** Lease id the key is attached to, 0 for none. */
  lease: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For put: the new value. For delete: the deleted key, its value empty, modRevision = the delete. */
  kv: KeyValue;
  /** The value before this event, when there was one (always set for delete). */
  prev?: KeyValue;
}

export interface ReadOptions {
  /** Read the state as of this revision; 0 or absent means the latest. */
  revision?: number;
}

export interface ListOptions extends ReadOptions {
  limit?: number;
  /** Opaque token from a previous page; pins the revision of the first page. */
  continue?: string;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** Set when more items remain; pass it back as `continue`. */
  continue?: string;
}

export interface WriteOptions {
  lease?: number;
}

export interface WriteResult {
  revision: number;
}

export interface DeleteResult extends WriteResult {
  prev: KeyValue;
}

export interface WatchOptions {
  /** Replay events with revision >= this one, then stream live; 0 or absent: live only. */
  fromRevision?: number;
}

export interface Watcher extends AsyncIterable<WatchEvent[]> {
  /** Stop the watch; the iterator ends. */
  close(): void;
}

export interface Store {
  currentRevision(): number;
  compactRevision(): number;
  get(key: string, opts?: ReadOptions): Promise<KeyValue | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  count(prefix: string): Promise<number>;
  create(key: string, value: Buffer, opts?: WriteOptions): Promise<WriteResult>;
  /** Update an existing key; with expectedRevision, only if its modRevision matches. */
  update(key: string, value: Buffer, expectedRevision?: number, opts?: WriteOptions): Promise<WriteResult>;
  delete(key: string, expectedRevision?: number): Promise<DeleteResult>;
  /** Events matching the prefix; throws CompactedError if fromRevision is no longer available. */
  watch(prefix: string, opts?: WatchOptions): Watcher;
  /** Remove history up to and including `revision` (default: all but the current state). */
  compact(revision?: number): Promise<number>;
  /**
   * Gives the space of removed history back, so that no byte of it stays in the files (etcd's
   * defrag): after a compaction, nothing written before it can be read from disk.
   */
  defragment(): Promise<void>;
  grantLease(ttlSeconds: number): Promise<number>;
  keepAliveLease(id: number): Promise<void>;
  revokeLease(id: number): Promise<void>;
  close(): Promise<void>;
}
