// metadata.managedFields bookkeeping: who owns which fields, updated on every write. Apply entries
// are written by server-side apply; every other write is recorded here as an Update entry.
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { nowTimestamp } from '../../k8s/time.js';
import type { KObject } from '../../k8s/object.js';
import type { SchemaNode, SchemaResolver } from '../schema/types.js';
import { fieldSetOf, fromFieldsV1, toFieldsV1, valueAt, type FieldSet } from './fieldset.js';

export interface Owner {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  fields: FieldSet;
}

const MAX_ENTRIES = 10;

export function readOwners(obj: KObject | undefined): Owner[] {
  return (obj?.metadata?.managedFields ?? []).map((e) => ({
    manager: e.manager ?? '',
    operation: e.operation === 'Apply' ? 'Apply' : 'Update',
    apiVersion: e.apiVersion ?? '',
    ...(e.subresource ? { subresource: e.subresource } : {}),
    time: e.time,
    fields: fromFieldsV1(e.fieldsV1),
  }));
}

export const sameOwner = (
  a: Pick<Owner, 'manager' | 'operation' | 'subresource'>,
  b: Pick<Owner, 'manager' | 'operation' | 'subresource'>,
) => a.manager === b.manager && a.operation === b.operation && (a.subresource ?? '') === (b.subresource ?? '');

/** Writes owners back as managedFields; empty entries go, and the oldest updates merge past ten. */
export function writeOwners(obj: KObject, owners: Owner[]): void {
  let kept = owners.filter((o) => o.fields.size > 0);
  if (kept.length > MAX_ENTRIES) {
    const updates = kept.filter((o) => o.operation === 'Update').sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
    const excess = updates.slice(0, kept.length - MAX_ENTRIES + 1);
    const ancient: Owner = {
      manager: 'ancient-changes',
      operation: 'Update',
      apiVersion: excess[0]!.apiVersion,
      time: excess.at(-1)!.time,
      fields: new Set(excess.flatMap((o) => [...o.fields])),
    };
    kept = [...kept.filter((o) => !excess.includes(o)), ancient];
  }
  const entries: ManagedFieldsEntry[] = kept.map((o) => ({
    manager: o.manager,
    operation: o.operation,
    apiVersion: o.apiVersion,
    time: o.time ?? nowTimestamp(),
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(o.fields),
    ...(o.subresource ? { subresource: o.subresource } : {}),
  }));
  obj.metadata ??= {};
  if (entries.length) obj.metadata.managedFields = entries;
  else delete obj.metadata.managedFields;
}

export interface UpdateWrite {
  schema: SchemaNode | undefined;
  resolve: SchemaResolver;
  old: KObject | undefined;
  updated: KObject;
  manager: string;
  apiVersion: string;
  subresource?: string;
}

/** Records a non-apply write: the writer now owns what it changed, and nobody owns what it removed. */
export function trackUpdate(w: UpdateWrite): void {
  const before = w.old ? fieldSetOf(w.old, w.schema, w.resolve) : new Set<string>();
  const after = fieldSetOf(w.updated, w.schema, w.resolve);
  const changed = new Set<string>();
  for (const p of after) {
    const path = JSON.parse(p) as string[];
    const was = valueAt(w.old, path);
    if (!before.has(p) || JSON.stringify(was.value) !== JSON.stringify(valueAt(w.updated, path).value)) changed.add(p);
  }
  const removed = [...before].filter((p) => !after.has(p));
  const owners = readOwners(w.old);
  const me: Owner = { manager: w.manager, operation: 'Update', apiVersion: w.apiVersion, subresource: w.subresource, fields: new Set() };
  const existing = owners.find((o) => sameOwner(o, me));
  for (const o of owners) {
    for (const p of [...changed, ...removed]) o.fields.delete(p);
  }
  if (changed.size === 0 && !existing) {
    writeOwners(w.updated, owners);
    return;
  }
  const mine = existing ?? me;
  for (const p of changed) mine.fields.add(p);
  mine.time = nowTimestamp();
  mine.apiVersion = w.apiVersion;
  writeOwners(w.updated, existing ? owners : [...owners, mine]);
}

/** The field manager Kubernetes assumes when a client names none: its user agent's program name. */
export function defaultManager(userAgent: string | null | undefined): string {
  const name = (userAgent ?? '').split('/')[0]!.trim();
  return name.slice(0, 128) || 'unknown';
}
