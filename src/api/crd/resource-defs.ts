// A CustomResourceDefinition seen as registry entries: one per served version, all sharing storage.
import type { CustomResourceDefinition, CustomResourceColumnDefinition } from 'kubernetes-types/apiextensions/v1.js';
import { humanDuration } from '../printers/duration.js';
import { getPath, type KObject } from '../../k8s/object.js';
import type { ResourceDef, TableColumn } from '../registry/types.js';
import type { SchemaNode } from '../schema/types.js';
import { validateAgainstSchema } from '../openapi/validate-schema.js';
import { validateObjectMeta } from '../validation/object-meta.js';

const COLUMN_TYPES = new Set(['integer', 'number', 'string', 'boolean', 'date']);

/** Evaluates the simple JSONPath forms printer columns use: `.spec.replicas`, `.status.conditions[0].type`. */
export function simpleJsonPath(obj: unknown, path: string): unknown {
  const cleaned = path.replace(/^\{?\.?/, '').replace(/\}$/, '');
  let cur: unknown = obj;
  for (const part of cleaned.split('.').filter((p) => p !== '')) {
    const m = part.match(/^([^[\]]*)((?:\[\d+\])*)$/);
    if (!m) return undefined;
    if (m[1]) cur = getPath(cur, m[1]);
    for (const idx of m[2]!.match(/\d+/g) ?? []) cur = Array.isArray(cur) ? cur[Number(idx)] : undefined;
  }
  return cur;
}

function column(c: CustomResourceColumnDefinition): TableColumn {
  const type = COLUMN_TYPES.has(c.type) ? (c.type as TableColumn['type']) : 'string';
  return {
    name: c.name,
    type,
    description: c.description ?? '',
    priority: c.priority ?? 0,
    cell: (obj: KObject, now: Date) => {
      const v = simpleJsonPath(obj, c.jsonPath);
      if (v === undefined || v === null) return null;
      if (type === 'date' && typeof v === 'string') return humanDuration(now.getTime() - Date.parse(v));
      return typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
    },
  };
}

export function crdResourceDefs(crd: CustomResourceDefinition): ResourceDef[] {
  const { group, names, scope, versions } = crd.spec;
  return versions
    .filter((v) => v.served)
    .map((v) => {
      const scale = v.subresources?.scale;
      const printer = v.additionalPrinterColumns ?? [];
      return {
        group,
        version: v.name,
        kind: names.kind,
        plural: names.plural,
        singular: names.singular ?? names.kind.toLowerCase(),
        namespaced: scope === 'Namespaced',
        shortNames: names.shortNames,
        categories: names.categories,
        statusSubresource: !!v.subresources?.status,
        scale: scale
          ? {
              specReplicasPath: scale.specReplicasPath,
              statusReplicasPath: scale.statusReplicasPath,
              labelSelectorPath: scale.labelSelectorPath,
            }
          : undefined,
        // With printer columns a CRD shows exactly those after NAME; without, NAME and AGE.
        columns: printer.length > 0 ? printer.map(column) : [],
        noAge: printer.length > 0,
        custom: true,
        schema: v.schema?.openAPIV3Schema as SchemaNode | undefined,
        validate: (obj) => [
          ...validateObjectMeta(obj, names.plural),
          ...(v.schema?.openAPIV3Schema ? validateAgainstSchema(obj, v.schema.openAPIV3Schema as SchemaNode) : []),
        ],
      } satisfies ResourceDef;
    });
}
