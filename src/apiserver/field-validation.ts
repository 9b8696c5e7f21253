// A body as kube-apiserver decodes it: first into its Go type (a field of the wrong type is a 400,
// null is dropped), then fieldValidation=Ignore|Warn|Strict: unknown fields are always dropped; Warn
// says so in a Warning header, Strict refuses the request.
import { badRequest } from '../k8s/errors.js';
import type { KObject } from '../k8s/object.js';
import { decodeAsGo } from '../api/openapi/go-decoding.js';
import type { SchemaLookup } from '../api/openapi/schemas.js';
import { pruneUnknownFields } from '../api/openapi/unknown-fields.js';
import type { RequestContext } from './request-context.js';

export function checkFields(schemas: SchemaLookup): (ctx: RequestContext, obj: KObject) => void {
  return (ctx, obj) => {
    const def = ctx.path.def;
    const schema = schemas.forDef(def);
    // Built-in kinds are Go types; custom ones are only typed in their metadata (their schema validates the rest).
    decodeAsGo(obj, def.schemaName ? schema : undefined, def.kind, def.version);
    if (!schema) return;
    const unknown = pruneUnknownFields(obj, schema).map((f) => `unknown field "${f}"`);
    if (unknown.length === 0 || ctx.fieldValidation === 'Ignore') return;
    if (ctx.fieldValidation === 'Strict') throw badRequest(`strict decoding error: ${unknown.join(', ')}`);
    ctx.warnings.push(...unknown);
  };
}
