// The patch algorithms the API server's PATCH handler uses, bound to the served kinds' schemas.
import { badRequest } from '../../k8s/errors.js';
import type { KObject } from '../../k8s/object.js';
import type { SchemaLookup } from '../openapi/schemas.js';
import { apiVersionOf } from '../../k8s/object.js';
import type { ResourceDef } from '../registry/types.js';
import { serverSideApply } from './apply.js';
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { mergeObject } from './strategic-merge.js';

export interface ApplyRequest {
  def: ResourceDef;
  live: KObject | undefined;
  applied: KObject;
  manager: string;
  force: boolean;
  toStatus: boolean;
}

export interface Patchers {
  json(doc: KObject, ops: unknown): KObject;
  merge(doc: KObject, patch: unknown): KObject;
  /** Undefined for kinds without a built-in schema: custom kinds take merge patches instead. */
  strategic(def: ResourceDef): ((doc: KObject, patch: unknown) => KObject) | undefined;
  apply(req: ApplyRequest): KObject;
}

const asObject = (v: unknown, what: string): Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badRequest(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
};

export function createPatchers(schemas: SchemaLookup): Patchers {
  return {
    json: applyJsonPatch,
    merge: (doc, patch) => applyMergePatch(doc, asObject(patch, 'a merge patch')) as KObject,
    strategic(def) {
      if (def.custom) return undefined;
      const schema = schemas.forDef(def);
      return (doc, patch) => mergeObject(doc, asObject(patch, 'a strategic merge patch'), schema, schemas.resolve) as KObject;
    },
    apply: (req) =>
      serverSideApply({
        schema: schemas.forDef(req.def),
        resolve: schemas.resolve,
        live: req.live,
        applied: req.applied,
        manager: req.manager,
        apiVersion: apiVersionOf(req.def.group, req.def.version),
        force: req.force,
        subresource: req.toStatus ? 'status' : undefined,
      }),
  };
}
