// Fields an object carries that its schema does not know. Kubernetes drops them (Go decoding for
// built-in kinds, pruning for custom ones) and, depending on fieldValidation, warns or refuses.
import type { SchemaNode } from '../schema/types.js';
import { definitions, resolve } from './schemas.js';

const OBJECT_META = definitions['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']!;
const TYPE_META_FIELDS = new Set(['apiVersion', 'kind']);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function walk(value: unknown, node: SchemaNode | undefined, path: string, found: string[], embedded: boolean): void {
  if (!node) return;
  const schema = resolve(node);
  if (Array.isArray(value)) {
    if (schema.items) for (const [i, item] of value.entries()) walk(item, schema.items, `${path}[${i}]`, found, false);
    return;
  }
  if (!isObject(value)) return;
  const props = schema.properties;
  const isEmbedded = embedded || !!schema['x-kubernetes-embedded-resource'];
  for (const key of Object.keys(value)) {
    const child = path ? `${path}.${key}` : key;
    if (isEmbedded && key === 'metadata') {
      walk(value[key], props?.metadata ?? OBJECT_META, child, found, false);
      continue;
    }
    if (isEmbedded && TYPE_META_FIELDS.has(key)) continue;
    if (props?.[key]) walk(value[key], props[key], child, found, false);
    else if (typeof schema.additionalProperties === 'object') walk(value[key], schema.additionalProperties, child, found, false);
    // A schema that does not say it is an object says nothing about fields.
    else if (schema['x-kubernetes-preserve-unknown-fields'] || schema.additionalProperties === true || (!props && schema.type !== 'object'))
      continue;
    else {
      found.push(child);
      delete value[key];
    }
  }
}

/** Removes the fields `schema` does not know from `obj` (a whole object) and returns their paths. */
export function pruneUnknownFields(obj: Record<string, unknown>, schema: SchemaNode): string[] {
  const found: string[] = [];
  walk(obj, schema, '', found, true);
  return found;
}
