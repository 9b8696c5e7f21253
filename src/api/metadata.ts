// Metadata rules every kind follows: identity on create, what an update may change, generation.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KObject, Meta } from '../k8s/object.js';
import { randomSuffix } from '../k8s/names.js';
import { nowTimestamp } from '../k8s/time.js';

/** Fields a client may not set on create: the server owns them. */
export function prepareForCreate(obj: KObject, now = new Date()): void {
  const meta: Meta = (obj.metadata ??= {});
  if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
  meta.uid = randomUUID();
  meta.creationTimestamp = nowTimestamp(now);
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.selfLink;
  if ('spec' in obj) meta.generation = 1;
  else delete meta.generation;
}

/** Everything but metadata and status: a change here is a new generation. */
function specOf(obj: KObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

export interface UpdateRules {
  /** The kind has a status subresource, so the main endpoint must not change status. */
  statusSubresource: boolean;
  /** This is a write to the status subresource: only status (and labels/annotations) change. */
  toStatus: boolean;
}

/** The object to store for an update of `old` by a client that sent `next`. */
export function prepareForUpdate(old: KObject, next: KObject, rules: UpdateRules): KObject {
  const oldMeta = old.metadata ?? {};
  let merged: KObject;
  if (rules.toStatus) {
    merged = { ...old, status: next.status };
    if (next.status === undefined) delete merged.status;
  } else {
    merged = { ...next };
    if (rules.statusSubresource) {
      if (old.status === undefined) delete merged.status;
      else merged.status = old.status;
    }
  }
  const nextMeta = rules.toStatus ? oldMeta : (next.metadata ?? {});
  const meta: Meta = {
    ...nextMeta,
    name: oldMeta.name,
    namespace: oldMeta.namespace,
    uid: oldMeta.uid,
    creationTimestamp: oldMeta.creationTimestamp,
    generation: oldMeta.generation,
  };
  // Once deletion has begun, its timestamp can only be kept, never cleared or moved by clients.
  if (oldMeta.deletionTimestamp) {
    meta.deletionTimestamp = oldMeta.deletionTimestamp;
    meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
  } else {
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
  }
  for (const k of Object.keys(meta) as (keyof Meta)[]) if (meta[k] === undefined) delete meta[k];
  merged.metadata = meta;
  if (meta.generation !== undefined && !isDeepStrictEqual(specOf(old), specOf(merged))) meta.generation += 1;
  return merged;
}

/**
 * Whether an update leaves the object as stored, its resourceVersion and the times in managedFields
 * aside: upstream then writes nothing and the resourceVersion stays (no event for watchers either).
 */
export function unchangedBy(old: KObject, next: KObject): boolean {
  const comparable = (o: KObject) => ({
    ...o,
    metadata: {
      ...o.metadata,
      resourceVersion: undefined,
      managedFields: o.metadata?.managedFields?.map(({ time: _t, ...entry }) => entry),
    },
  });
  return isDeepStrictEqual(comparable(old), comparable(next));
}
