// Validation of custom resources against their CRD's structural schema, with kube-apiserver's
// messages ("spec.length in body should be greater than or equal to 1").
import type { FieldError } from '../../k8s/errors.js';
import type { SchemaNode } from '../schema/types.js';
import { invalidValue, notSupported, required } from '../validation/names.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(schema: SchemaNode, v: unknown): boolean {
  if (schema['x-kubernetes-int-or-string']) return typeof v === 'string' || Number.isInteger(v);
  if (!schema.type) return true;
  const t = typeOf(v);
  return t === schema.type || (schema.type === 'number' && t === 'integer');
}

type Schema = SchemaNode & {
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
};

function walk(v: unknown, s: Schema, path: string, errors: FieldError[]): void {
  const at = path || '<root>';
  if (v === null) {
    if (!s.nullable && s.type) errors.push(invalidValue(at, 'null', `${at} in body must be of type ${s.type}: "null"`));
    return;
  }
  if (!typeMatches(s, v)) {
    errors.push(invalidValue(at, typeOf(v), `${at} in body must be of type ${s.type}: "${typeOf(v)}"`));
    return;
  }
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) errors.push(notSupported(at, v, s.enum.map(String)));
  if (typeof v === 'number') {
    if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum))
      errors.push(invalidValue(at, v, `${at} in body should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}`));
    if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum))
      errors.push(invalidValue(at, v, `${at} in body should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}`));
  }
  if (typeof v === 'string') {
    if (s.minLength !== undefined && [...v].length < s.minLength)
      errors.push(invalidValue(at, v, `${at} in body should be at least ${s.minLength} chars long`));
    if (s.maxLength !== undefined && [...v].length > s.maxLength)
      errors.push({ field: at, type: 'FieldValueTooLong', detail: `Too long: may not be more than ${s.maxLength} bytes` });
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v))
      errors.push(invalidValue(at, v, `${at} in body should match '${s.pattern}'`));
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems)
      errors.push(invalidValue(at, v.length, `${at} in body should have at least ${s.minItems} items`));
    if (s.maxItems !== undefined && v.length > s.maxItems)
      errors.push({ field: at, type: 'FieldValueTooMany', detail: `Too many: ${v.length}: must have at most ${s.maxItems} items` });
    if (s.items) for (const [i, item] of v.entries()) walk(item, s.items as Schema, `${path}[${i}]`, errors);
  }
  if (isObject(v)) {
    for (const r of s.required ?? []) if (!(r in v)) errors.push(required(path ? `${path}.${r}` : r));
    for (const [k, x] of Object.entries(v)) {
      const child = s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
      if (child) walk(x, child as Schema, path ? `${path}.${k}` : k, errors);
    }
  }
}

/** Field errors of a custom object against its schema; metadata is checked elsewhere. */
export function validateAgainstSchema(obj: Record<string, unknown>, schema: SchemaNode): FieldError[] {
  const errors: FieldError[] = [];
  const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = obj;
  const { properties, required: req, ...top } = schema;
  const { metadata: _pm, apiVersion: _pa, kind: _pk, ...props } = properties ?? {};
  walk(
    rest,
    { ...top, properties: props, required: (req ?? []).filter((r) => !['metadata', 'apiVersion', 'kind'].includes(r)) } as Schema,
    '',
    errors,
  );
  return errors;
}
