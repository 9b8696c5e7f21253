// What decoding a request body into Kubernetes' Go types does to it, for kinds whose schema the
// server knows: a value of the wrong JSON type is refused (400, in Go's words: `Pod in version "v1"
// cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.containers
// of type []v1.Container`), timestamps and quantities must parse, and null becomes what Go leaves
// there: no field at all, or the zero value of a list or map element. Everything after this (defaults,
// admission, validation) may then trust the shape of what it reads.
import { badRequest, type ApiError } from '../../k8s/errors.js';
import { parseQuantity } from '../../k8s/quantity.js';
import type { SchemaNode } from '../schema/types.js';
import { definitions, refName, resolve } from './schemas.js';

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

class TypeError_ extends Error {}

/** Go's name for a schema's type: `v1.Container`, `[]v1.Container`, `map[string]string`, `int32`. */
function goType(node: SchemaNode): string {
  const ref = refName(node);
  if (ref) {
    const parts = ref.split('.');
    if (ref === QUANTITY) return 'resource.Quantity';
    if (ref.endsWith('.IntOrString')) return 'intstr.IntOrString';
    return `${parts.at(-2)}.${parts.at(-1)}`;
  }
  const s = resolve(node);
  if (s.type === 'array') return `[]${s.items ? goType(s.items) : 'interface {}'}`;
  if (s.type === 'object' && typeof s.additionalProperties === 'object') return `map[string]${goType(s.additionalProperties)}`;
  if (s.type === 'integer') return s.format === 'int32' ? 'int32' : 'int64';
  if (s.type === 'number') return 'float64';
  if (s.type === 'boolean') return 'bool';
  if (s.type === 'string') return 'string';
  return 'interface {}';
}

/** Go's word for a JSON value's kind in its errors. */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  return typeof v === 'object' ? 'object' : 'string';
}

/** A zero value for a list or map element that was null. */
function zero(node: SchemaNode): unknown {
  const s = resolve(node);
  if (s['x-kubernetes-int-or-string']) return refName(node) === QUANTITY ? '0' : 0;
  if (s.type === 'string') return '';
  if (s.type === 'integer' || s.type === 'number') return 0;
  if (s.type === 'boolean') return false;
  if (s.type === 'array') return [];
  return {};
}

interface Where {
  /** The innermost struct's Go name (`PodSpec`). */
  struct: string;
  /** JSON field names from the root, as Go reports them (`spec.containers`). */
  field: string;
}

function fail(v: unknown, node: SchemaNode, at: Where, detail?: string): never {
  const value = detail ?? jsonKind(v);
  const into = at.field ? `Go struct field ${at.struct}.${at.field}` : 'Go value';
  throw new TypeError_(`json: cannot unmarshal ${value} into ${into} of type ${goType(node)}`);
}

function walk(v: unknown, node: SchemaNode, at: Where, embedded: boolean): unknown {
  const s = resolve(node);
  const ref = refName(node);
  if (s['x-kubernetes-int-or-string']) {
    if (ref === QUANTITY) {
      if (typeof v !== 'string' && typeof v !== 'number') fail(v, node, at);
      try {
        parseQuantity(v);
      } catch (err) {
        throw new TypeError_((err as ApiError).message);
      }
      return v;
    }
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isInteger(v) && v >= INT_RANGES.int32![0] && v <= INT_RANGES.int32![1]) return v;
    // IntOrString decodes anything not a string as its int32.
    throw new TypeError_(`json: cannot unmarshal ${typeof v === 'number' ? `number ${v}` : jsonKind(v)} into Go value of type int32`);
  }
  switch (s.type) {
    case 'string':
      if (typeof v !== 'string') fail(v, node, at);
      if (s.format === 'date-time' && Number.isNaN(Date.parse(v)))
        throw new TypeError_(`parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse as RFC 3339`);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') fail(v, node, at);
      return v;
    case 'integer': {
      if (typeof v !== 'number') fail(v, node, at);
      const [lo, hi] = INT_RANGES[s.format ?? 'int64'] ?? INT_RANGES.int64!;
      if (!Number.isInteger(v) || v < lo || v > hi) fail(v, node, at, `number ${v}`);
      return v;
    }
    case 'number':
      if (typeof v !== 'number') fail(v, node, at);
      return v;
    case 'array': {
      if (!Array.isArray(v)) fail(v, node, at);
      const items = s.items;
      if (!items) return v;
      return v.map((item) => (item === null ? zero(items) : walk(item, items, at, false)));
    }
    case 'object': {
      if (s['x-kubernetes-preserve-unknown-fields'] && !s.properties?.metadata) return v;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(v, node, at);
      const obj = v as Record<string, unknown>;
      const struct = ref ? (ref.split('.').at(-1) ?? at.struct) : at.struct;
      for (const key of Object.keys(obj)) {
        const child = `${at.field ? `${at.field}.` : ''}${key}`;
        const prop = s.properties?.[key] ?? (embedded && key === 'metadata' ? definitions[OBJECT_META] : undefined);
        if (obj[key] === null) {
          if (prop || !s.additionalProperties) delete obj[key];
          else obj[key] = zero(s.additionalProperties as SchemaNode);
          continue;
        }
        if (prop) obj[key] = walk(obj[key], prop, { struct, field: child }, false);
        else if (typeof s.additionalProperties === 'object')
          obj[key] = walk(obj[key], s.additionalProperties, { struct, field: at.field }, false);
      }
      return obj;
    }
    default:
      return v;
  }
}

/**
 * Checks `obj` as Go would decode it into `kind`'s type (or, for a custom kind, its metadata into
 * ObjectMeta), turning nulls into what Go would leave; a mismatch is a 400 in upstream's words.
 */
export function decodeAsGo(obj: Record<string, unknown>, schema: SchemaNode | undefined, kind: string, version: string): void {
  try {
    if (schema) walk(obj, schema, { struct: kind, field: '' }, true);
    else if (obj.metadata !== undefined && obj.metadata !== null) {
      obj.metadata = walk(obj.metadata, definitions[OBJECT_META]!, { struct: kind, field: 'metadata' }, false);
    } else delete obj.metadata;
  } catch (err) {
    if (!(err instanceof TypeError_)) throw err;
    throw badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: ${err.message}`);
  }
}
