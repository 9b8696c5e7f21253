// The apiregistration.k8s.io/v1 schemas (APIService and its parts), which kubernetes-types does not
// carry: read from @kubernetes/client-node's generated models (field names, types and formats from
// each class's attributeTypeMap, descriptions and required fields from its declaration) and named
// as upstream names them.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const require = createRequire(import.meta.url);
const models = path.join(path.dirname(require.resolve('@kubernetes/client-node/package.json')), 'dist/gen/models');
const PKG = 'io.k8s.kube-aggregator.pkg.apis.apiregistration.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** client-node class -> upstream definition name. */
const NAMES = {
  V1APIService: `${PKG}.APIService`,
  V1APIServiceList: `${PKG}.APIServiceList`,
  V1APIServiceSpec: `${PKG}.APIServiceSpec`,
  V1APIServiceStatus: `${PKG}.APIServiceStatus`,
  V1APIServiceCondition: `${PKG}.APIServiceCondition`,
  ApiregistrationV1ServiceReference: `${PKG}.ServiceReference`,
  V1ObjectMeta: `${META}.ObjectMeta`,
  V1ListMeta: `${META}.ListMeta`,
  Date: `${META}.Time`,
};

/** What the declarations cannot say: how conditions merge, and which kinds the objects are. */
const EXTRA = {
  [`${PKG}.APIServiceStatus.conditions`]: {
    'x-kubernetes-patch-merge-key': 'type',
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  },
};
const GVK = { [`${PKG}.APIService`]: [{ group: 'apiregistration.k8s.io', kind: 'APIService', version: 'v1' }] };

const ref = (name) => ({ $ref: `#/components/schemas/${name}` });
const unescapeQuotes = (s) => s?.replace(/\\(["'])/g, '$1');

function schemaOf(type, format) {
  const array = type.match(/^Array<(.+)>$/);
  if (array) return { type: 'array', items: schemaOf(array[1], '') };
  if (type === 'string') return { type: 'string', ...(format ? { format } : {}) };
  if (type === 'number') return { type: 'integer', format: format || 'int32' };
  if (type === 'boolean') return { type: 'boolean' };
  if (NAMES[type]) return ref(NAMES[type]);
  throw new Error(`apiregistration schemas: no mapping for the type ${type}`);
}

/** Descriptions of the class and its properties, and which properties are required, from the .d.ts. */
function declaration(cls) {
  const file = path.join(models, `${cls}.d.ts`);
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const doc = (node) =>
    unescapeQuotes(
      ts
        .getJSDocCommentsAndTags(node)
        .filter(ts.isJSDoc)
        .map((d) => (typeof d.comment === 'string' ? d.comment : ''))
        .join('\n')
        .trim(),
    ) || undefined;
  const decl = source.statements.find((s) => ts.isClassDeclaration(s) && s.name?.text === cls);
  const props = {};
  for (const m of decl.members) {
    if (!ts.isPropertyDeclaration(m) || m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword)) continue;
    props[m.name.getText(source).replace(/^'|'$/g, '')] = { description: doc(m), required: !m.questionToken };
  }
  return { description: doc(decl), props };
}

export async function apiregistrationDefinitions() {
  const definitions = {};
  for (const [cls, name] of Object.entries(NAMES)) {
    if (!name.startsWith(PKG)) continue;
    const { [cls]: model } = await import(pathToFileURL(path.join(models, `${cls}.js`)).href);
    const { description, props } = declaration(cls);
    const properties = {};
    const required = [];
    for (const a of model.attributeTypeMap) {
      const s = schemaOf(a.type, a.format);
      const info = props[a.name] ?? {};
      const extra = EXTRA[`${name}.${a.baseName}`] ?? {};
      properties[a.baseName] = s.$ref
        ? { allOf: [s], description: info.description, ...extra }
        : { ...s, description: info.description, ...extra };
      if (info.required) required.push(a.baseName);
    }
    definitions[name] = {
      description,
      type: 'object',
      properties,
      ...(required.length ? { required } : {}),
      ...(GVK[name] ? { 'x-kubernetes-group-version-kind': GVK[name] } : {}),
    };
  }
  return definitions;
}
