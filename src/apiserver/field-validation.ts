// fieldValidation=Ignore|Warn|Strict: unknown fields are always dropped; Warn says so in a Warning
// header, Strict refuses the request, as kube-apiserver does.
import { badRequest } from '../k8s/errors.js';
import type { KObject } from '../k8s/object.js';
import type { SchemaLookup } from '../api/openapi/schemas.js';
import { pruneUnknownFields } from '../api/openapi/unknown-fields.js';
import type { RequestContext } from './request-context.js';

export function checkFields(schemas: SchemaLookup): (ctx: RequestContext, obj: KObject) => void {
  return (ctx, obj) => {
    const schema = schemas.forDef(ctx.path.def);
    if (!schema) return;
    const unknown = pruneUnknownFields(obj, schema).map((f) => `unknown field "${f}"`);
    if (unknown.length === 0 || ctx.fieldValidation === 'Ignore') return;
    if (ctx.fieldValidation === 'Strict') throw badRequest(`strict decoding error: ${unknown.join(', ')}`);
    ctx.warnings.push(...unknown);
  };
}
