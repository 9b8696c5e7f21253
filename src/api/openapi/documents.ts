// OpenAPI documents built from the registry: v3 per group-version (what kubectl reads for apply's
// validation and patch type, and for explain) and one swagger 2.0 document for older clients.
import type { Registry } from '../registry/registry.js';
import type { ResourceDef } from '../registry/types.js';
import type { SchemaNode } from '../schema/types.js';
import { definitions } from './schemas.js';

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const STATUS = 'io.k8s.apimachinery.pkg.apis.meta.v1.Status';
const DELETE_OPTIONS = 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions';

/** Upstream names custom kinds' schemas by reversed group: `com.example.skiff.v1.Boat`. */
export function customSchemaName(def: ResourceDef): string {
  return `${def.group.split('.').reverse().join('.')}.${def.version}.${def.kind}`;
}

function schemaNameOf(def: ResourceDef): string | undefined {
  return def.custom ? customSchemaName(def) : def.schemaName;
}

/** A custom kind's schema as a standalone definition: typed metadata, apiVersion/kind, its GVK. */
function customDefinition(def: ResourceDef): SchemaNode {
  const schema: SchemaNode = structuredClone(def.schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
  schema.properties = {
    apiVersion: { type: 'string', description: definitions['io.k8s.api.core.v1.Pod']?.properties?.apiVersion?.description },
    kind: { type: 'string', description: definitions['io.k8s.api.core.v1.Pod']?.properties?.kind?.description },
    metadata: { allOf: [{ $ref: `#/components/schemas/${OBJECT_META}` }], description: "Standard object's metadata." },
    ...schema.properties,
  };
  schema['x-kubernetes-group-version-kind'] = [{ group: def.group, version: def.version, kind: def.kind }];
  return schema;
}

function collectRefs(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) for (const n of node) collectRefs(n, into);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        const name = v.slice('#/components/schemas/'.length);
        if (!into.has(name) && definitions[name]) {
          into.add(name);
          collectRefs(definitions[name], into);
        }
      } else collectRefs(v, into);
    }
  }
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const query = (name: string, description: string, type = 'string') => ({
  name,
  in: 'query',
  description,
  schema: { type },
  uniqueItems: true,
});
const WRITE_PARAMS = [
  query('dryRun', 'When present, indicates that modifications should not be persisted. Valid value: All.'),
  query('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  query(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. ' +
      'Valid values are: Ignore, Warn, Strict.',
  ),
];

function operations(def: ResourceDef, schemaName: string): Record<string, unknown> {
  const gvk = { group: def.group, version: def.version, kind: def.kind };
  const body = (types: string[]) => ({ content: Object.fromEntries(types.map((t) => [t, { schema: ref(schemaName) }])), required: true });
  const ok = { 200: { description: 'OK', content: { 'application/json': { schema: ref(schemaName) } } } };
  const op = (action: string, extra: Record<string, unknown> = {}) => ({
    operationId: `${action}${def.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    responses: ok,
    ...extra,
  });
  const patchTypes = [
    'application/json-patch+json',
    'application/merge-patch+json',
    ...(def.custom ? [] : ['application/strategic-merge-patch+json']),
    'application/apply-patch+yaml',
  ];
  const base = `/${def.group ? `apis/${def.group}` : 'api'}/${def.version}${def.namespaced ? '/namespaces/{namespace}' : ''}/${def.plural}`;
  const paths: Record<string, unknown> = {};
  if (def.virtual) {
    paths[base] = { post: op('post', { requestBody: body(['application/json']), parameters: WRITE_PARAMS }) };
    return paths;
  }
  paths[base] = {
    get: op('list'),
    post: op('post', { requestBody: body(['application/json', 'application/yaml']), parameters: WRITE_PARAMS }),
    delete: op('deletecollection', { responses: { 200: { description: 'OK', content: { 'application/json': { schema: ref(STATUS) } } } } }),
  };
  paths[`${base}/{name}`] = {
    get: op('get'),
    put: op('put', { requestBody: body(['application/json', 'application/yaml']), parameters: WRITE_PARAMS }),
    patch: op('patch', {
      requestBody: body(patchTypes),
      parameters: [...WRITE_PARAMS, query('force', 'Force is going to "force" Apply requests.', 'boolean')],
    }),
    delete: op('delete', { requestBody: { content: { 'application/json': { schema: ref(DELETE_OPTIONS) } } } }),
  };
  if (def.statusSubresource) {
    paths[`${base}/{name}/status`] = {
      get: op('get'),
      put: op('put', { requestBody: body(['application/json']), parameters: WRITE_PARAMS }),
      patch: op('patch', { requestBody: body(patchTypes), parameters: WRITE_PARAMS }),
    };
  }
  return paths;
}

export function groupVersionDocument(registry: Registry, group: string, version: string): Record<string, unknown> | undefined {
  const defs = registry.inGroupVersion(group, version);
  if (defs.length === 0) return undefined;
  const names = new Set<string>([STATUS, DELETE_OPTIONS]);
  const schemas: Record<string, SchemaNode> = {};
  let paths: Record<string, unknown> = {};
  for (const def of defs) {
    const name = schemaNameOf(def);
    if (!name) continue;
    if (def.custom) schemas[name] = customDefinition(def);
    else names.add(name);
    paths = { ...paths, ...operations(def, name) };
  }
  const closure = new Set<string>();
  collectRefs(
    [...names].map((n) => ({ $ref: `#/components/schemas/${n}` })),
    closure,
  );
  collectRefs(Object.values(schemas), closure);
  for (const n of [...closure].sort()) schemas[n] = definitions[n]!;
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
}

/** The v3 document rewritten as swagger 2.0 (`#/definitions/...` references, no request bodies). */
export function swaggerDocument(registry: Registry): Record<string, unknown> {
  const all: Record<string, SchemaNode> = {};
  for (const { group, version } of registry.groupVersions()) {
    const doc = groupVersionDocument(registry, group, version) as { components: { schemas: Record<string, SchemaNode> } } | undefined;
    Object.assign(all, doc?.components.schemas);
  }
  const text = JSON.stringify(all).replaceAll('#/components/schemas/', '#/definitions/');
  const v2 = JSON.parse(text, (_key, node) => (isWrappedRef(node) ? unwrapRef(node) : node));
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths: {}, definitions: v2 };
}

/** v3 wraps a described reference as `allOf: [{$ref}]`; swagger 2.0 clients (kubectl 1.20) know only `$ref`. */
const isWrappedRef = (node: unknown): node is SchemaNode =>
  typeof node === 'object' &&
  node !== null &&
  Array.isArray((node as SchemaNode).allOf) &&
  (node as SchemaNode).allOf!.length === 1 &&
  Object.keys((node as SchemaNode).allOf![0]!).join() === '$ref';

function unwrapRef({ allOf, default: _default, ...rest }: SchemaNode): SchemaNode {
  return { $ref: allOf![0]!.$ref, ...rest };
}
