// Schemas of every served kind: built-in ones from the generated definitions (scripts/gen-openapi.mjs),
// custom ones from their CRD. One lookup serves OpenAPI documents, field checks and patching.
import definitionsJson from './definitions.json' with { type: 'json' };
import type { Registry } from '../registry/registry.js';
import type { ResourceDef } from '../registry/types.js';
import type { SchemaNode } from '../schema/types.js';

export const definitions = definitionsJson as unknown as Record<string, SchemaNode>;

const REF_PREFIX = '#/components/schemas/';

/** Follows `$ref` and single-element `allOf` wrappers to the node they stand for. */
export function resolve(node: SchemaNode): SchemaNode {
  let cur = node;
  for (let i = 0; i < 16; i++) {
    if (cur.$ref) cur = definitions[cur.$ref.slice(REF_PREFIX.length)] ?? {};
    else if (cur.allOf?.length === 1 && !cur.type && !cur.properties) cur = cur.allOf[0]!;
    else return cur;
  }
  return cur;
}

export const refName = (node: SchemaNode) => node.$ref?.slice(REF_PREFIX.length) ?? resolveRefName(node);
const resolveRefName = (node: SchemaNode) => (node.allOf?.length === 1 ? node.allOf[0]!.$ref?.slice(REF_PREFIX.length) : undefined);

export interface SchemaLookup {
  registry: Registry;
  /** The schema of a kind's objects, or undefined when it has none (virtual kinds). */
  forDef(def: ResourceDef): SchemaNode | undefined;
  resolve(node: SchemaNode): SchemaNode;
}

export function schemaLookup(registry: Registry): SchemaLookup {
  return {
    registry,
    forDef: (def) => def.schema ?? (def.schemaName ? definitions[def.schemaName] : undefined),
    resolve,
  };
}
