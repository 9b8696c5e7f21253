// Admission plugins: kind-specific steps around writes, composed into the one Admission the object
// store calls. Each plugin names the resource it cares about.
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { ResourceDef } from '../registry/types.js';
import type { Admission, WriteContext } from '../storage/object-store.js';

export interface AdmissionPlugin {
  /** `*` for a plugin that sees every kind. */
  group: string;
  resource: string;
  /** Before validation; may change the object or throw an ApiError. */
  admit?(def: ResourceDef, obj: KObject, old: StoredObject | undefined, ctx: WriteContext): Promise<void>;
  /** After validation (as upstream's validating admission); may only refuse, with an ApiError. */
  validate?(def: ResourceDef, obj: KObject, old: StoredObject | undefined, ctx: WriteContext): Promise<void>;
  /** The write went through (create or update). */
  stored?(def: ResourceDef, obj: KObject, old: StoredObject | undefined): Promise<void>;
  /** The write was admitted but did not happen (dry run, conflict, failure). */
  abandoned?(def: ResourceDef, obj: KObject, old: StoredObject | undefined): Promise<void>;
  /** The object is gone from the datastore. */
  released?(def: ResourceDef, obj: StoredObject): Promise<void>;
}

export function composeAdmission(plugins: AdmissionPlugin[]): Admission {
  const forDef = (def: ResourceDef) => plugins.filter((p) => p.resource === '*' || (p.group === def.group && p.resource === def.plural));
  return {
    async admit(def, obj, old, ctx) {
      for (const p of forDef(def)) await p.admit?.(def, obj, old, ctx);
    },
    async validate(def, obj, old, ctx) {
      for (const p of forDef(def)) await p.validate?.(def, obj, old, ctx);
    },
    async stored(def, obj, old) {
      for (const p of forDef(def)) await p.stored?.(def, obj, old);
    },
    async abandoned(def, obj, old) {
      for (const p of forDef(def)) await p.abandoned?.(def, obj, old);
    },
    async released(def, obj) {
      for (const p of forDef(def)) await p.released?.(def, obj);
    },
  };
}
