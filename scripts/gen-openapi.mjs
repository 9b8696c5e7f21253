// Generates the OpenAPI schemas of every built-in kind from the kubernetes-types declarations (which
// carry Kubernetes' own field descriptions) into src/api/openapi/definitions.json, named as upstream
// names them. The API server serves them (/openapi/v2, /openapi/v3, kubectl explain) and uses them
// for unknown-field checks, strategic merge patch and server-side apply.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import ts from 'typescript';
import { atomicStructs, patchMetadata } from './openapi/patch-metadata.mjs';
import { apiregistrationDefinitions } from './openapi/apiregistration.mjs';

const require = createRequire(import.meta.url);
const root = path.dirname(require.resolve('kubernetes-types/package.json'));
// Committed, as every generated file is; test/generated checks that it is current.
const OUT = process.argv[2] ?? 'src/api/openapi/definitions.json';

/** kubernetes-types module path -> upstream OpenAPI package prefix. */
function packageOf(mod) {
  const special = {
    'meta/v1': 'io.k8s.apimachinery.pkg.apis.meta.v1',
    'api/resource': 'io.k8s.apimachinery.pkg.api.resource',
    runtime: 'io.k8s.apimachinery.pkg.runtime',
    version: 'io.k8s.apimachinery.pkg.version',
    'apiextensions/v1': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1',
  };
  return special[mod] ?? `io.k8s.api.${mod.replace('/', '.')}`;
}

const modules = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (entry.name.endsWith('.d.ts') && entry.name !== 'index.d.ts') modules.push(path.relative(root, full).replace(/\.d\.ts$/, ''));
  }
})(root);
modules.sort();

const doc = (node) => {
  const tags = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const text = tags
    .map((t) => (typeof t.comment === 'string' ? t.comment : (t.comment ?? []).map((c) => c.text).join('')))
    .join('\n')
    .trim();
  return text || undefined;
};

const definitions = {};
const ref = (name) => ({ $ref: `#/components/schemas/${name}` });
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.Time';
const MICRO_TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

for (const mod of modules) {
  const file = path.join(root, `${mod}.d.ts`);
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const pkg = packageOf(mod);
  // Where each referenced name is declared: this module, or one it imports.
  const origin = new Map();
  for (const stmt of source.statements) {
    if (ts.isImportDeclaration(stmt)) {
      const from = path.posix.normalize(path.posix.join(path.posix.dirname(mod), stmt.moduleSpecifier.text));
      for (const el of stmt.importClause?.namedBindings?.elements ?? []) origin.set(el.name.text, packageOf(from));
    } else if ((ts.isInterfaceDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt)) && stmt.name) origin.set(stmt.name.text, pkg);
  }

  const schemaOf = (type) => {
    if (!type) return { 'x-kubernetes-preserve-unknown-fields': true };
    switch (type.kind) {
      case ts.SyntaxKind.StringKeyword:
        return { type: 'string' };
      case ts.SyntaxKind.NumberKeyword:
        return { type: 'integer', format: 'int32' };
      case ts.SyntaxKind.BooleanKeyword:
        return { type: 'boolean' };
      case ts.SyntaxKind.LiteralType:
        return { type: 'string' };
      case ts.SyntaxKind.ArrayType:
        return { type: 'array', items: schemaOf(type.elementType) };
      case ts.SyntaxKind.UnionType: {
        const kinds = type.types.map((t) => t.kind).sort();
        if (kinds.length === 2 && kinds.includes(ts.SyntaxKind.NumberKeyword) && kinds.includes(ts.SyntaxKind.StringKeyword))
          return ref(INT_OR_STRING);
        return { 'x-kubernetes-preserve-unknown-fields': true };
      }
      case ts.SyntaxKind.TypeLiteral: {
        const index = type.members.find(ts.isIndexSignatureDeclaration);
        return index ? { type: 'object', additionalProperties: schemaOf(index.type) } : { type: 'object' };
      }
      case ts.SyntaxKind.TypeReference: {
        const name = type.typeName.getText(source);
        if (name === 'Array') return { type: 'array', items: schemaOf(type.typeArguments?.[0]) };
        const from = origin.get(name);
        return from ? ref(`${from}.${name}`) : { 'x-kubernetes-preserve-unknown-fields': true };
      }
      default:
        return { 'x-kubernetes-preserve-unknown-fields': true };
    }
  };

  for (const stmt of source.statements) {
    const name = stmt.name?.text;
    if (!name) continue;
    const full = `${pkg}.${name}`;
    if (ts.isTypeAliasDeclaration(stmt)) {
      const s = schemaOf(stmt.type);
      definitions[full] = { description: doc(stmt), ...(s.$ref ? { 'x-kubernetes-preserve-unknown-fields': true } : s) };
      continue;
    }
    if (!ts.isInterfaceDeclaration(stmt)) continue;
    const properties = {};
    const required = [];
    const gvk = {};
    for (const m of stmt.members) {
      if (!ts.isPropertySignature(m)) continue;
      const prop = m.name.getText(source).replace(/^"|"$/g, '');
      if ((prop === 'apiVersion' || prop === 'kind') && m.type?.kind === ts.SyntaxKind.LiteralType) gvk[prop] = m.type.literal.text;
      const s = schemaOf(m.type);
      const extra = patchMetadata[`${full}.${prop}`] ?? {};
      properties[prop] = s.$ref ? { allOf: [s], description: doc(m), ...extra } : { ...s, description: doc(m), ...extra };
      if (!m.questionToken) required.push(prop);
    }
    const def = { description: doc(stmt), type: 'object', properties };
    if (Object.keys(properties).length === 0) def['x-kubernetes-preserve-unknown-fields'] = true;
    if (required.length) def.required = required;
    if (gvk.kind && !gvk.kind.endsWith('List')) {
      const [group, version] = gvk.apiVersion.includes('/') ? gvk.apiVersion.split('/') : ['', gvk.apiVersion];
      def['x-kubernetes-group-version-kind'] = [{ group, kind: gvk.kind, version }];
    }
    if (atomicStructs.includes(full)) def['x-kubernetes-map-type'] = 'atomic';
    definitions[full] = def;
  }
}

// Types kubernetes-types writes inline or as plain strings.
definitions[INT_OR_STRING] = {
  description: 'IntOrString is a type that can hold an int32 or a string.',
  type: 'string',
  format: 'int-or-string',
  'x-kubernetes-int-or-string': true,
};
definitions[TIME] = { description: definitions[TIME]?.description, type: 'string', format: 'date-time' };
definitions[MICRO_TIME] = { description: definitions[MICRO_TIME]?.description, type: 'string', format: 'date-time' };
definitions[QUANTITY] = { description: definitions[QUANTITY]?.description, type: 'string', 'x-kubernetes-int-or-string': true };
definitions['io.k8s.apimachinery.pkg.runtime.RawExtension']['x-kubernetes-preserve-unknown-fields'] = true;

// The x-kubernetes-* fields of a CRD's schema, which kubernetes-types leaves out (their names are
// not identifiers): without them `kubectl apply` of such a CRD fails strict field validation.
const SCHEMA_PROPS = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps';
const flag = (description) => ({ type: 'boolean', description });
Object.assign(definitions[SCHEMA_PROPS].properties, {
  'x-kubernetes-embedded-resource': flag(
    'x-kubernetes-embedded-resource defines that the value is an embedded Kubernetes runtime.Object, with TypeMeta and ObjectMeta.',
  ),
  'x-kubernetes-int-or-string': flag('x-kubernetes-int-or-string specifies that this value is either an integer or a string.'),
  'x-kubernetes-preserve-unknown-fields': flag(
    'x-kubernetes-preserve-unknown-fields stops the API server decoding step from pruning fields which are not specified ' +
      'in the validation schema.',
  ),
  'x-kubernetes-list-map-keys': {
    type: 'array',
    items: { type: 'string' },
    'x-kubernetes-list-type': 'atomic',
    description:
      'x-kubernetes-list-map-keys annotates an array with the x-kubernetes-list-type `map` ' +
      'by specifying the keys used as the index of the map.',
  },
  'x-kubernetes-list-type': {
    type: 'string',
    description: 'x-kubernetes-list-type annotates an array to further describe its topology: atomic, set or map.',
  },
  'x-kubernetes-map-type': {
    type: 'string',
    description: 'x-kubernetes-map-type annotates an object to further describe its topology: granular or atomic.',
  },
  'x-kubernetes-validations': {
    type: 'array',
    items: ref('io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.ValidationRule'),
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['rule'],
    'x-kubernetes-patch-merge-key': 'rule',
    'x-kubernetes-patch-strategy': 'merge',
    description: 'x-kubernetes-validations describes a list of validation rules written in the CEL expression language.',
  },
});

// APIService (apiregistration.k8s.io), which kubernetes-types lacks.
Object.assign(definitions, await apiregistrationDefinitions());

// Dropping undefined descriptions keeps the file small and deterministic.
const text = JSON.stringify(definitions, (_k, v) => (v === undefined ? undefined : v));
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, text);
console.log(`gen-openapi: ${Object.keys(definitions).length} definitions, ${(text.length / 1024).toFixed(0)} KiB -> ${OUT}`);
