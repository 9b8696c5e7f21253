// OpenAPI documents, unknown-field pruning and CRD schema validation.
import t from 'tap';
import { Registry } from '../../src/api/registry/registry.js';
import { builtinResources } from '../../src/api/registry/builtin/index.js';
import { definitions } from '../../src/api/openapi/schemas.js';
import { groupVersionDocument, swaggerDocument } from '../../src/api/openapi/documents.js';
import { pruneUnknownFields } from '../../src/api/openapi/unknown-fields.js';
import { validateAgainstSchema } from '../../src/api/openapi/validate-schema.js';
import { crdResourceDefs } from '../../src/api/crd/resource-defs.js';
import type { SchemaNode } from '../../src/api/schema/types.js';

const registry = new Registry(builtinResources());

t.test('generated definitions carry descriptions, kinds and merge metadata', async (t) => {
  const d = definitions['io.k8s.api.apps.v1.Deployment']!;
  t.same(d['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
  t.match(definitions['io.k8s.api.apps.v1.DeploymentSpec']!.properties!.replicas, {
    type: 'integer',
    description: /Number of desired pods/,
  });
  t.match(definitions['io.k8s.api.core.v1.PodSpec']!.properties!.containers, {
    type: 'array',
    'x-kubernetes-patch-merge-key': 'name',
    'x-kubernetes-list-type': 'map',
  });
  t.match(definitions['io.k8s.api.core.v1.ServicePort']!.properties!.targetPort, {
    allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString' }],
  });
  t.same(definitions['io.k8s.api.core.v1.Container']!.required, ['name']);
});

t.test('v3 group-version documents declare what kubectl looks for', async (t) => {
  const doc = groupVersionDocument(registry, 'apps', 'v1') as any;
  const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
  t.ok(patch.requestBody.content['application/strategic-merge-patch+json'], 'strategic merge for built-in kinds');
  t.ok(
    patch.parameters.some((p: { name: string }) => p.name === 'fieldValidation'),
    'fieldValidation: kubectl lets the server validate',
  );
  t.ok(doc.components.schemas['io.k8s.api.core.v1.PodSpec'], 'referenced definitions are included');
  t.notOk(doc.components.schemas['io.k8s.api.batch.v1.Job'], 'unreferenced ones are not');
  t.equal(groupVersionDocument(registry, 'nope', 'v1'), undefined);
  const swagger = swaggerDocument(registry) as any;
  t.equal(swagger.swagger, '2.0');
  t.notOk(JSON.stringify(swagger).includes('#/components/schemas/'), 'v2 refs point at #/definitions');
});

t.test('custom kinds get their CRD schema, typed metadata and no strategic merge', async (t) => {
  const crds = crdResourceDefs({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'boats.skiff.example.com' },
    spec: {
      group: 'skiff.example.com',
      scope: 'Namespaced',
      names: { plural: 'boats', kind: 'Boat' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { length: { type: 'integer', minimum: 1 } } } },
            },
          },
        },
      ],
    },
  });
  const r = new Registry([...builtinResources(), ...crds]);
  const doc = groupVersionDocument(r, 'skiff.example.com', 'v1') as any;
  const schema = doc.components.schemas['com.example.skiff.v1.Boat'];
  t.same(schema['x-kubernetes-group-version-kind'], [{ group: 'skiff.example.com', version: 'v1', kind: 'Boat' }]);
  t.ok(doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
  t.notOk(
    doc.paths['/apis/skiff.example.com/v1/namespaces/{namespace}/boats/{name}'].patch.requestBody.content[
      'application/strategic-merge-patch+json'
    ],
  );
});

t.test('unknown fields are found, named by path and removed', async (t) => {
  const obj: any = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', labelz: {} },
    spec: { replicass: 2, template: { spec: { containers: [{ name: 'c', imagee: 'x', resources: { limits: { cpu: '1' } } }] } } },
  };
  t.same(pruneUnknownFields(obj, definitions['io.k8s.api.apps.v1.Deployment']!).sort(), [
    'metadata.labelz',
    'spec.replicass',
    'spec.template.spec.containers[0].imagee',
  ]);
  t.same(obj.spec, { template: { spec: { containers: [{ name: 'c', resources: { limits: { cpu: '1' } } }] } } });
  const raw: any = { metadata: { name: 'r' }, revision: 1, data: { anything: { goes: true } } };
  t.same(pruneUnknownFields(raw, definitions['io.k8s.api.apps.v1.ControllerRevision']!), [], 'RawExtension keeps what it holds');
  const free: SchemaNode = { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } };
  t.same(pruneUnknownFields({ metadata: { name: 'x' }, spec: { a: 1 }, extra: 1 }, free), ['extra']);
});

t.test('custom resources are validated against their schema in Kubernetes words', async (t) => {
  const schema: SchemaNode = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        required: ['length'],
        properties: {
          length: { type: 'integer', minimum: 1 } as SchemaNode,
          sail: { type: 'string', enum: ['red', 'white'] },
          crew: { type: 'array', items: { type: 'string' }, maxItems: 2 } as SchemaNode,
        },
      },
    },
  };
  const errs = (spec: unknown) => validateAgainstSchema({ metadata: { name: 'b' }, spec }, schema).map((e) => `${e.field}: ${e.detail}`);
  t.same(errs({ length: 3, sail: 'red' }), []);
  t.same(errs({ length: 0 }), ['spec.length: Invalid value: 0: spec.length in body should be greater than or equal to 1']);
  t.same(errs({}), ['spec.length: Required value']);
  t.same(errs({ length: 'long' }), ['spec.length: Invalid value: "string": spec.length in body must be of type integer: "string"']);
  t.same(errs({ length: 2, sail: 'blue' }), ['spec.sail: Unsupported value: "blue": supported values: "red", "white"']);
  t.same(errs({ length: 2, crew: ['a', 'b', 'c'] }), ['spec.crew: Too many: 3: must have at most 2 items']);
});
