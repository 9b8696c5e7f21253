// etcd's key/values and events in the Store's terms, and key ranges in etcd's (byte) terms.
import type { IEvent, IKeyValue, IResponseHeader } from 'etcd3';
import { EMPTY } from './log-rows.js';
import type { KeyValue, WatchEvent } from './types.js';

/** etcd's "every key from here on" (as a range end) and "every key" (as both ends). */
const ALL = Buffer.from([0]);

export interface KeyRange {
  key: Buffer;
  range_end: Buffer;
}

/** The keys that start with `prefix`. */
export function prefixRange(prefix: string): KeyRange {
  const key = Buffer.from(prefix);
  if (key.length === 0) return { key: ALL, range_end: ALL };
  for (let i = key.length - 1; i >= 0; i--) {
    if (key[i]! < 0xff) {
      const end = Buffer.from(key.subarray(0, i + 1));
      end[i]! += 1;
      return { key, range_end: end };
    }
  }
  return { key, range_end: ALL };
}

/** The first key after `key`. */
export const keyAfter = (key: string): Buffer => Buffer.concat([Buffer.from(key), ALL]);

export const revisionOf = (header: IResponseHeader): number => Number(header.revision);

export function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString(),
    value: kv.value,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    lease: Number(kv.lease),
  };
}

export function toEvent(e: IEvent): WatchEvent {
  const prev = e.prev_kv ? toKeyValue(e.prev_kv) : undefined;
  const kv = toKeyValue(e.kv);
  // etcd's delete event has only the key and the revision; the Store's carries the create revision too.
  if (e.type.toLowerCase() === 'delete')
    return { type: 'delete', kv: { ...kv, value: EMPTY, createRevision: prev?.createRevision ?? 0 }, prev };
  return { type: 'put', kv, prev };
}

const COMPACTED = 'required revision has been compacted';
const FUTURE = 'required revision is a future revision';

export const isCompacted = (err: unknown): boolean => err instanceof Error && err.message.includes(COMPACTED);
export const isFuture = (err: unknown): boolean => err instanceof Error && err.message.includes(FUTURE);
