// Field sets in Kubernetes' managedFields form (FieldsV1): `f:<field>` for fields, `k:<json>` for
// items of lists keyed by their map keys, `v:<json>` for set members, `.` for an item itself.
// Sets are kept as a flat set of paths (each a JSON array of those elements) for easy arithmetic.
import type { SchemaNode, SchemaResolver } from '../schema/types.js';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export type FieldSet = Set<string>;

/** Fields the server owns, never part of anyone's set. */
const SERVER_FIELDS = new Set(['apiVersion', 'kind']);
const SERVER_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName',
]);

/** The schema of a property, keeping list/merge extensions written next to a $ref. */
export function propertySchema(schema: SchemaNode | undefined, key: string, resolve: SchemaResolver): SchemaNode | undefined {
  if (!schema) return undefined;
  const s = resolve(schema);
  const prop = s.properties?.[key] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
  if (!prop) return undefined;
  const { $ref: _r, allOf: _a, ...extensions } = prop;
  return { ...resolve(prop), ...extensions };
}

export type ListKind = { type: 'map'; keys: string[] } | { type: 'set' } | { type: 'atomic' };

export function listKind(schema: SchemaNode | undefined): ListKind {
  const type = schema?.['x-kubernetes-list-type'];
  const keys =
    schema?.['x-kubernetes-list-map-keys'] ??
    (schema?.['x-kubernetes-patch-merge-key'] ? [schema['x-kubernetes-patch-merge-key']] : undefined);
  if ((type === 'map' || (!type && keys)) && keys) return { type: 'map', keys };
  if (type === 'set' || (!type && (schema?.['x-kubernetes-patch-strategy'] ?? '').includes('merge'))) return { type: 'set' };
  return { type: 'atomic' };
}

/** `k:{"name":"x"}` for an item of a map-list, keys in sorted order as Kubernetes writes them. */
export function itemKey(item: Obj, keys: string[]): string {
  const picked: Obj = {};
  for (const k of [...keys].sort()) if (item[k] !== undefined) picked[k] = item[k];
  return `k:${JSON.stringify(picked)}`;
}

export const isAtomicMap = (s: SchemaNode | undefined) => s?.['x-kubernetes-map-type'] === 'atomic';

/** Every leaf path of `value` (an object), as a field set. */
export function fieldSetOf(value: Obj, schema: SchemaNode | undefined, resolve: SchemaResolver): FieldSet {
  const out: FieldSet = new Set();
  const walk = (v: unknown, s: SchemaNode | undefined, path: string[], top: boolean) => {
    if (isObject(v) && !isAtomicMap(s) && !s?.['x-kubernetes-preserve-unknown-fields']) {
      for (const [k, x] of Object.entries(v)) {
        if (top && SERVER_FIELDS.has(k)) continue;
        if (path.length === 1 && path[0] === 'f:metadata' && SERVER_META.has(k)) continue;
        const childPath = [...path, `f:${k}`];
        const cs = propertySchema(s, k, resolve);
        if (
          (isObject(x) && Object.keys(x).length > 0 && !isAtomicMap(cs) && !cs?.['x-kubernetes-preserve-unknown-fields']) ||
          (Array.isArray(x) && listKind(cs).type !== 'atomic' && x.length > 0)
        )
          walk(x, cs, childPath, false);
        else out.add(JSON.stringify(childPath));
      }
      return;
    }
    if (Array.isArray(v)) {
      const kind = listKind(s);
      for (const item of v) {
        if (kind.type === 'map' && isObject(item)) {
          const itemPath = [...path, itemKey(item, kind.keys)];
          out.add(JSON.stringify([...itemPath, '.']));
          walk(item, s?.items, itemPath, false);
        } else if (kind.type === 'set') out.add(JSON.stringify([...path, `v:${JSON.stringify(item)}`]));
      }
      return;
    }
    out.add(JSON.stringify(path));
  };
  walk(value, schema, [], true);
  return out;
}

/** FieldsV1 JSON (a tree) from a field set. */
export function toFieldsV1(set: FieldSet): Obj {
  const root: Obj = {};
  for (const p of [...set].sort()) {
    let node = root;
    for (const el of JSON.parse(p) as string[]) node = (node[el] ??= {}) as Obj;
  }
  return root;
}

export function fromFieldsV1(tree: unknown): FieldSet {
  const out: FieldSet = new Set();
  const walk = (node: unknown, path: string[]) => {
    if (!isObject(node) || Object.keys(node).length === 0) {
      if (path.length) out.add(JSON.stringify(path));
      return;
    }
    for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
  };
  walk(tree, []);
  return out;
}

/** The value at a field-set path, or undefined; `present` tells a missing field from a null one. */
export function valueAt(obj: unknown, path: string[]): { present: boolean; value?: unknown } {
  let cur: unknown = obj;
  for (const el of path) {
    if (el === '.') continue;
    if (el.startsWith('f:') && isObject(cur) && el.slice(2) in cur) cur = cur[el.slice(2)];
    else if (el.startsWith('k:') && Array.isArray(cur)) {
      const want = JSON.parse(el.slice(2)) as Obj;
      cur = cur.find((i) => isObject(i) && Object.entries(want).every(([k, v]) => JSON.stringify(i[k]) === JSON.stringify(v)));
      if (cur === undefined) return { present: false };
    } else if (el.startsWith('v:') && Array.isArray(cur)) {
      const want = el.slice(2);
      if (!cur.some((i) => JSON.stringify(i) === want)) return { present: false };
      cur = JSON.parse(want);
    } else return { present: false };
  }
  return { present: true, value: cur };
}

/** Removes the field at `path` from `obj` (in place). */
export function removeAt(obj: unknown, path: string[]): void {
  const els = path.at(-1) === '.' ? path.slice(0, -1) : path;
  const parent = valueAt(obj, els.slice(0, -1));
  if (!parent.present) return;
  const last = els.at(-1)!;
  const container = parent.value;
  if (last.startsWith('f:') && isObject(container)) delete container[last.slice(2)];
  else if (Array.isArray(container)) {
    const target = valueAt(container, [last]).value;
    const i = last.startsWith('v:') ? container.findIndex((x) => JSON.stringify(x) === last.slice(2)) : container.indexOf(target);
    if (i >= 0) container.splice(i, 1);
  }
}

/** A readable path for conflict messages: `.spec.replicas`, `.spec.containers[name="web"].image`. */
export function describePath(path: string[]): string {
  return path
    .filter((el) => el !== '.')
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      if (el.startsWith('k:'))
        return `[${Object.entries(JSON.parse(el.slice(2)) as Obj)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      return `[=${el.slice(2)}]`;
    })
    .join('');
}
