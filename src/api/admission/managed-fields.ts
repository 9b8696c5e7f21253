// Records every non-apply write in metadata.managedFields (server-side apply records its own).
import { apiVersionOf } from '../../k8s/object.js';
import type { SchemaLookup } from '../openapi/schemas.js';
import { trackUpdate } from '../patch/managed-fields.js';
import type { AdmissionPlugin } from './plugin.js';

export function managedFieldsAdmission(schemas: SchemaLookup): AdmissionPlugin {
  return {
    group: '*',
    resource: '*',
    async admit(def, obj, old, ctx) {
      if (!ctx.manager || ctx.applied || def.virtual) return;
      trackUpdate({
        schema: schemas.forDef(def),
        resolve: schemas.resolve,
        old,
        updated: obj,
        manager: ctx.manager,
        apiVersion: apiVersionOf(def.group, def.version),
        subresource: ctx.subresource,
      });
    },
  };
}
