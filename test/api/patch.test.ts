// Patch algorithms against the real built-in schemas: strategic merge directives, merge and JSON
// patch, and server-side apply's ownership rules.
import t from 'tap';
import { createPatchers } from '../../src/api/patch/index.js';
import { Registry } from '../../src/api/registry/registry.js';
import { builtinResources } from '../../src/api/registry/builtin/index.js';
import { schemaLookup } from '../../src/api/openapi/schemas.js';
import type { ApiError } from '../../src/k8s/errors.js';
import type { KObject } from '../../src/k8s/object.js';

const registry = new Registry(builtinResources());
const patchers = createPatchers(schemaLookup(registry));
const deployments = registry.byResource('apps', 'v1', 'deployments')!;
const configmaps = registry.byResource('', 'v1', 'configmaps')!;
const smp = patchers.strategic(deployments)!;

const deploy = (): KObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', finalizers: ['a'] },
  spec: {
    replicas: 1,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } },
    template: {
      spec: {
        containers: [
          {
            name: 'web',
            image: 'v1',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          },
          { name: 'side', image: 's1' },
        ],
      },
    },
  },
});
const containers = (o: KObject) => (o.spec as any).template.spec.containers;

t.test('strategic merge patch merges lists by key and honours directives', async (t) => {
  let out = smp(deploy(), { spec: { template: { spec: { containers: [{ name: 'web', image: 'v2' }] } } } });
  t.same(
    containers(out).map((c: any) => `${c.name}:${c.image}`),
    ['web:v2', 'side:s1'],
    'merged by name, others kept',
  );
  t.equal(containers(out)[0].env.length, 2, 'nested fields kept');

  out = smp(deploy(), { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } });
  t.same(
    containers(out).map((c: any) => c.name),
    ['web'],
  );

  out = smp(deploy(), {
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'web',
              env: [
                { name: 'B', $patch: 'delete' },
                { name: 'C', value: '3' },
              ],
            },
          ],
        },
      },
    },
  });
  t.same(
    containers(out)[0].env.map((e: any) => e.name),
    ['A', 'C'],
  );

  out = smp(deploy(), {
    spec: {
      template: {
        spec: { '$setElementOrder/containers': [{ name: 'side' }, { name: 'web' }], containers: [{ name: 'web', image: 'v3' }] },
      },
    },
  });
  t.same(
    containers(out).map((c: any) => c.name),
    ['side', 'web'],
    '$setElementOrder reorders',
  );

  out = smp(deploy(), { metadata: { finalizers: ['b'] } });
  t.same(out.metadata!.finalizers, ['a', 'b'], 'finalizers merge as a set');
  out = smp(deploy(), { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } });
  t.same(out.metadata!.finalizers, []);

  out = smp(deploy(), { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
  t.same((out.spec as any).strategy, { type: 'Recreate' }, '$retainKeys drops the rest');
  out = smp(deploy(), { spec: { replicas: null } });
  t.notOk('replicas' in (out.spec as object), 'null deletes');
});

t.test('strategic merge errors are 400s', async (t) => {
  t.throws(() => smp(deploy(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }), {
    code: 400,
    message: /does not contain declared merge key: name/,
  });
  t.throws(() => smp(deploy(), { spec: { $patch: 'explode' } }), { code: 400 });
  t.throws(() => smp(deploy(), { $frobnicate: 1 }), { code: 400, message: /unknown patch directive/ });
  t.equal(patchers.strategic({ ...configmaps, custom: true }), undefined, 'custom kinds take merge patches');
});

t.test('merge and JSON patch', async (t) => {
  const out = patchers.merge(deploy(), { spec: { replicas: 3, template: null } });
  t.equal((out.spec as any).replicas, 3);
  t.notOk('template' in (out.spec as object));
  const j = patchers.json(deploy(), [
    { op: 'replace', path: '/spec/replicas', value: 4 },
    { op: 'add', path: '/metadata/labels', value: { a: 'b' } },
  ]);
  t.equal((j.spec as any).replicas, 4);
  t.same(j.metadata!.labels, { a: 'b' });
  t.throws(() => patchers.json(deploy(), { op: 'add' }), { code: 400 });
  t.throws(() => patchers.json(deploy(), [{ op: 'test', path: '/spec/replicas', value: 9 }]), { code: 422 });
  t.throws(() => patchers.json(deploy(), [{ op: 'remove', path: '/spec/nope/deeper' }]), { code: 422 });
});

t.test('server-side apply: ownership, conflicts, force, removal', async (t) => {
  const cm = (data: Record<string, string>): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data });
  const created = patchers.apply({
    def: configmaps,
    live: undefined,
    applied: cm({ a: '1', b: '2' }),
    manager: 'alice',
    force: false,
    toStatus: false,
  });
  t.match(created.metadata!.managedFields, [
    { manager: 'alice', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } } },
  ]);
  t.notOk(JSON.stringify(created.metadata!.managedFields).includes('f:name'), "server-owned metadata is nobody's");

  const shared = patchers.apply({ def: configmaps, live: created, applied: cm({ a: '1' }), manager: 'bob', force: false, toStatus: false });
  t.same(shared.data, { a: '1', b: '2' }, 'same value: no conflict, both own a');
  const err = (() => {
    try {
      patchers.apply({ def: configmaps, live: shared, applied: cm({ a: '9' }), manager: 'bob', force: false, toStatus: false });
    } catch (e) {
      return e as ApiError;
    }
  })();
  t.equal(err?.code, 409);
  t.match(err?.message, 'Apply failed with 1 conflict: conflict with "alice": .data.a');
  t.match(err?.details?.causes, [{ reason: 'FieldManagerConflict', field: '.data.a' }]);

  const forced = patchers.apply({ def: configmaps, live: shared, applied: cm({ a: '9' }), manager: 'bob', force: true, toStatus: false });
  t.equal((forced.data as any).a, '9');
  const alice = forced.metadata!.managedFields!.find((m) => m.manager === 'alice')!;
  t.same(alice.fieldsV1, { 'f:data': { 'f:b': {} } }, 'force takes ownership away');

  const dropped = patchers.apply({ def: configmaps, live: forced, applied: cm({}), manager: 'alice', force: false, toStatus: false });
  t.same(dropped.data, { a: '9' }, "b was alice's alone and she stopped applying it");
});

t.test('apply merges lists by their map keys', async (t) => {
  const live = patchers.apply({ def: deployments, live: undefined, applied: deploy(), manager: 'a', force: false, toStatus: false });
  const fields = JSON.stringify(live.metadata!.managedFields![0]!.fieldsV1);
  t.match(fields, /"k:\{\\"name\\":\\"web\\"\}":\{"\.":\{\}/, 'list items keyed as k:{"name":"web"}');
  const next = patchers.apply({
    def: deployments,
    live,
    applied: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { template: { spec: { containers: [{ name: 'extra', image: 'e' }] } } },
    },
    manager: 'b',
    force: false,
    toStatus: false,
  });
  t.same(
    containers(next).map((c: any) => c.name),
    ['web', 'side', 'extra'],
  );
});

t.test('apply matches list items by key fields with their schema defaults filled in', async (t) => {
  const services = registry.byResource('', 'v1', 'services')!;
  const svc = (port: Record<string, unknown>): KObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [port] },
  });
  // What a client-side apply stored: the defaulted protocol, owned by an Update manager.
  const live = { ...svc({ port: 80, targetPort: 'http', protocol: 'TCP' }), metadata: { name: 'web', managedFields: [] } } as KObject;
  const applied = patchers.apply({
    def: services,
    live,
    applied: svc({ port: 80, targetPort: 'http' }),
    manager: 'kubectl',
    force: true,
    toStatus: false,
  });
  t.same((applied.spec as any).ports, [{ port: 80, targetPort: 'http', protocol: 'TCP' }], 'one port, not a second one without protocol');
  t.match(
    JSON.stringify(applied.metadata!.managedFields![0]!.fieldsV1),
    /k:\{\\"port\\":80,\\"protocol\\":\\"TCP\\"\}/,
    'owned under the defaulted key',
  );
  const udp = patchers.apply({
    def: services,
    live: applied,
    applied: svc({ port: 80, targetPort: 'http', protocol: 'UDP' }),
    manager: 'kubectl',
    force: true,
    toStatus: false,
  });
  t.same(
    (udp.spec as any).ports.map((p: any) => p.protocol),
    ['UDP'],
    'another protocol is another item, and the TCP one this manager stopped applying goes',
  );
});
