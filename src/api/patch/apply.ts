// Server-side apply: merge an applied configuration into the live object by the schema's list and
// map semantics, with field ownership. Another manager's differing field is a conflict unless
// forced; fields this manager applied before and no longer applies are removed if nobody else
// owns them.
import { ApiError } from '../../k8s/errors.js';
import type { KObject } from '../../k8s/object.js';
import type { SchemaNode, SchemaResolver } from '../schema/types.js';
import { describePath, fieldSetOf, isAtomicMap, itemKey, listKind, propertySchema, removeAt, valueAt } from './fieldset.js';
import { readOwners, sameOwner, writeOwners, type Owner } from './managed-fields.js';
import { nowTimestamp } from '../../k8s/time.js';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function merge(live: unknown, applied: unknown, schema: SchemaNode | undefined, resolve: SchemaResolver): unknown {
  if (isObject(applied) && isObject(live) && !isAtomicMap(schema) && !schema?.['x-kubernetes-preserve-unknown-fields']) {
    const out: Obj = { ...live };
    for (const [k, v] of Object.entries(applied)) out[k] = merge(live[k], v, propertySchema(schema, k, resolve), resolve);
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const kind = listKind(schema);
    if (kind.type === 'map') {
      const out = [...live];
      for (const item of applied) {
        const i = isObject(item) ? out.findIndex((x) => isObject(x) && itemKey(x, kind.keys) === itemKey(item, kind.keys)) : -1;
        if (i >= 0) out[i] = merge(out[i], item, schema?.items, resolve);
        else out.push(item);
      }
      return out;
    }
    if (kind.type === 'set') return [...live, ...applied.filter((a) => !live.some((l) => JSON.stringify(l) === JSON.stringify(a)))];
  }
  return structuredClone(applied);
}

/**
 * The applied configuration with the list-map key fields its schema defaults filled in, as
 * upstream defaults them before matching: otherwise an item that leaves out `protocol` would be a
 * new item beside the live one, which has `protocol: TCP`.
 */
function withDefaultedKeys(value: unknown, schema: SchemaNode | undefined, resolve: SchemaResolver): unknown {
  if (Array.isArray(value)) {
    const kind = listKind(schema);
    return value.map((item) => {
      const out = withDefaultedKeys(item, schema?.items, resolve);
      if (kind.type !== 'map' || !isObject(out)) return out;
      for (const key of kind.keys) {
        const fallback = propertySchema(schema?.items, key, resolve)?.default;
        if (out[key] === undefined && fallback !== undefined) out[key] = structuredClone(fallback);
      }
      return out;
    });
  }
  if (isObject(value) && !schema?.['x-kubernetes-preserve-unknown-fields']) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, withDefaultedKeys(v, propertySchema(schema, k, resolve), resolve)]),
    );
  }
  return value;
}

export interface ApplyInput {
  schema: SchemaNode | undefined;
  resolve: SchemaResolver;
  live: KObject | undefined;
  applied: KObject;
  manager: string;
  apiVersion: string;
  force: boolean;
  subresource?: string;
}

export function serverSideApply(a: ApplyInput): KObject {
  const applied = withDefaultedKeys(a.applied, a.schema, a.resolve) as KObject;
  const me: Owner = {
    manager: a.manager,
    operation: 'Apply',
    apiVersion: a.apiVersion,
    subresource: a.subresource,
    fields: fieldSetOf(applied, a.schema, a.resolve),
  };
  const owners = readOwners(a.live);
  const previous = owners.find((o) => sameOwner(o, me));

  const conflicts: { owner: Owner; path: string[] }[] = [];
  for (const o of owners) {
    if (o === previous) continue;
    for (const p of me.fields) {
      if (!o.fields.has(p)) continue;
      const path = JSON.parse(p) as string[];
      if (path.at(-1) === '.') continue;
      const live = valueAt(a.live, path);
      if (live.present && JSON.stringify(live.value) !== JSON.stringify(valueAt(applied, path).value)) conflicts.push({ owner: o, path });
    }
  }
  if (conflicts.length && !a.force) {
    const lines = conflicts.map((c) => {
      const using = c.owner.operation === 'Update' ? ` using ${c.owner.apiVersion}` : '';
      return `conflict with "${c.owner.manager}"${using}: ${describePath(c.path)}`;
    });
    const message =
      conflicts.length === 1
        ? `Apply failed with 1 conflict: ${lines[0]}`
        : `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
    throw new ApiError(409, 'Conflict', message, {
      causes: conflicts.map((c, i) => ({ reason: 'FieldManagerConflict', message: lines[i]!, field: describePath(c.path) })),
    });
  }
  for (const c of conflicts) c.owner.fields.delete(JSON.stringify(c.path));

  const { managedFields: _mf, ...appliedMeta } = applied.metadata ?? {};
  const base: KObject = a.live ? structuredClone(a.live) : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: {} };
  const result = merge(base, { ...applied, metadata: appliedMeta }, a.schema, a.resolve) as KObject;

  // What this manager stopped applying goes, unless someone else also owns it.
  const others = owners.filter((o) => o !== previous);
  const dropped = [...(previous?.fields ?? [])].filter((p) => !me.fields.has(p) && !others.some((o) => o.fields.has(p)));
  // A dropped list item goes whole; removing its fields first would lose the keys that find it.
  const droppedItems = dropped.filter((p) => p.endsWith(',"."]')).map((p) => p.slice(0, -',"."]'.length));
  const insideDroppedItem = (p: string) => droppedItems.some((item) => p.startsWith(`${item},`) && !p.endsWith(',"."]'));
  for (const p of dropped.filter((p) => !insideDroppedItem(p)).sort((x, y) => y.length - x.length))
    removeAt(result, JSON.parse(p) as string[]);

  me.time = nowTimestamp();
  writeOwners(result, previous ? owners.map((o) => (o === previous ? me : o)) : [...owners, me]);
  return result;
}
