// Strategic merge patch: a merge patch that knows, from the schema, how each list merges (by a key,
// as a set, or replaced) and understands kubectl's directives: $patch, $retainKeys,
// $setElementOrder/<list> and $deleteFromPrimitiveList/<list>.
import { badRequest } from '../../k8s/errors.js';
import type { SchemaNode, SchemaResolver } from '../schema/types.js';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

const ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

function child(schema: SchemaNode | undefined, key: string, resolve: SchemaResolver): SchemaNode | undefined {
  if (!schema) return undefined;
  const s = resolve(schema);
  const prop = s.properties?.[key] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
  return prop && resolve(prop) !== prop ? { ...resolve(prop), ...withoutRefs(prop) } : prop;
}

/** Extensions set next to a $ref/allOf (patch strategy lives on the property, not the type). */
function withoutRefs(node: SchemaNode): SchemaNode {
  const { $ref: _r, allOf: _a, ...rest } = node;
  return rest;
}

const strategyOf = (s: SchemaNode | undefined) => (s?.['x-kubernetes-patch-strategy'] ?? '').split(',');
const sameKey = (a: unknown, b: unknown, key: string) => isObject(a) && isObject(b) && a[key] === b[key];

function mergeList(current: unknown[], patch: unknown[], schema: SchemaNode | undefined, resolve: SchemaResolver, path: string): unknown[] {
  const strategy = strategyOf(schema);
  const replaced = () => patch.filter((p) => !(isObject(p) && p.$patch === 'replace')).map(stripDirectives);
  if (!strategy.includes('merge')) return replaced();
  const key = schema?.['x-kubernetes-patch-merge-key'];
  if (!key) {
    // A list of scalars merged as a set: add what is missing.
    const out = [...current];
    for (const p of patch) if (!out.some((c) => JSON.stringify(c) === JSON.stringify(p))) out.push(p);
    return out;
  }
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) return replaced();
  const out = [...current];
  const itemSchema = schema?.items;
  for (const p of patch) {
    if (!isObject(p)) throw badRequest(`${path}: a list merged by "${key}" needs objects, got ${JSON.stringify(p)}`);
    if (!(key in p)) throw badRequest(`${path}: map: ${JSON.stringify(p)} does not contain declared merge key: ${key}`);
    const i = out.findIndex((c) => sameKey(c, p, key));
    if (p.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = mergeObject(out[i] as Obj, p, itemSchema, resolve, `${path}[${key}=${String(p[key])}]`);
    else out.push(mergeObject({}, p, itemSchema, resolve, path));
  }
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

function reorder(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const pos = (item: unknown) => order.findIndex((o) => (key ? sameKey(o, item, key) : JSON.stringify(o) === JSON.stringify(item)));
  const known = list.filter((i) => pos(i) >= 0).sort((a, b) => pos(a) - pos(b));
  // Items the order does not mention (added by someone else) keep their place after the ordered ones.
  return [...known, ...list.filter((i) => pos(i) < 0)];
}

export function mergeObject(current: Obj, patch: Obj, schema: SchemaNode | undefined, resolve: SchemaResolver, path = ''): Obj {
  if (patch.$patch === 'replace') return stripDirectives(Object.fromEntries(Object.entries(patch).filter(([k]) => k !== '$patch'))) as Obj;
  if (patch.$patch !== undefined && patch.$patch !== 'merge')
    throw badRequest(`${path || 'patch'}: unknown patch type: ${String(patch.$patch)}`);
  const result: Obj = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(ORDER)) continue;
    const at = path ? `${path}.${key}` : key;
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const field = key.slice(DELETE_PRIMITIVE.length);
      if (!Array.isArray(value)) throw badRequest(`${at}: must be a list`);
      if (Array.isArray(result[field]))
        result[field] = (result[field] as unknown[]).filter((x) => !value.some((v) => JSON.stringify(v) === JSON.stringify(x)));
      continue;
    }
    if (key.startsWith('$')) throw badRequest(`${at}: unknown patch directive`);
    const s = child(schema, key, resolve);
    if (value === null) delete result[key];
    else if (isObject(value) && value.$patch === 'delete') delete result[key];
    else if (isObject(value)) result[key] = mergeObject(isObject(result[key]) ? (result[key] as Obj) : {}, value, s, resolve, at);
    else if (Array.isArray(value))
      result[key] = mergeList(Array.isArray(result[key]) ? (result[key] as unknown[]) : [], value, s, resolve, at);
    else result[key] = value;
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(ORDER)) continue;
    const field = key.slice(ORDER.length);
    if (!Array.isArray(order)) throw badRequest(`${key}: must be a list`);
    if (Array.isArray(result[field]))
      result[field] = reorder(result[field] as unknown[], order, child(schema, field, resolve)?.['x-kubernetes-patch-merge-key']);
  }
  if ('$retainKeys' in patch) {
    const keep = patch.$retainKeys;
    if (!Array.isArray(keep)) throw badRequest(`${path || 'patch'}.$retainKeys: must be a list`);
    for (const k of Object.keys(result)) if (!keep.includes(k)) delete result[k];
  }
  return result;
}
