// The ReplicationController registry entry: upstream's defaults, validation, columns and scale view.
import t from 'tap';
import { Registry } from '../../src/api/registry/registry.js';
import { builtinResources } from '../../src/api/registry/builtin/index.js';
import { columnsOf, toTable } from '../../src/apiserver/table.js';
import { toScale } from '../../src/apiserver/scale-handler.js';
import type { KObject, StoredObject } from '../../src/k8s/object.js';

const registry = new Registry(builtinResources());
const def = registry.byResource('', 'v1', 'replicationcontrollers')!;
const template = (labels?: Record<string, string>, spec: Record<string, unknown> = {}) => ({
  metadata: labels ? { labels } : {},
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});
const rc = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'ReplicationController',
  metadata: { name: 'web', namespace: 'default', ...meta },
  spec,
});
const defaulted = (o: KObject) => {
  def.defaults!(o);
  return o as KObject & { spec: Record<string, any> };
};
const errors = (o: KObject, old?: KObject) => def.validate!(defaulted(o), old).map((e) => `${e.field}: ${e.detail}`);

t.test('served as upstream: core v1, rc, category all, status and scale', async (t) => {
  t.match(def, {
    group: '',
    version: 'v1',
    kind: 'ReplicationController',
    namespaced: true,
    shortNames: ['rc'],
    categories: ['all'],
    statusSubresource: true,
    schemaName: 'io.k8s.api.core.v1.ReplicationController',
  });
  t.ok(def.scale);
});

t.test('defaults: selector and labels from the template, one replica', async (t) => {
  const o = defaulted(rc({ template: template({ app: 'web' }) }));
  t.same(o.spec.selector, { app: 'web' });
  t.same(o.metadata?.labels, { app: 'web' }, 'the object takes the template labels when it has none');
  t.equal(o.spec.replicas, 1);
  t.equal(o.spec.template.spec.restartPolicy, 'Always', 'the pod template is defaulted too');
  const own = defaulted(
    rc({ replicas: 0, selector: { app: 'web' }, template: template({ app: 'web', v: '2' }) }, { labels: { mine: 'yes' } }),
  );
  t.same(own.spec.selector, { app: 'web' }, 'a given selector stays');
  t.same(own.metadata?.labels, { mine: 'yes' }, 'given labels stay');
  t.equal(own.spec.replicas, 0, 'zero replicas stays zero');
});

t.test('validation: a plain map selector the template labels must carry', async (t) => {
  t.same(errors(rc({ template: template({ app: 'web' }) })), [], 'a defaulted controller is valid');
  t.match(errors(rc({ selector: { app: 'other' }, template: template({ app: 'web' }) })), [
    'spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`',
  ]);
  t.match(errors(rc({ template: template() })), [/^spec.selector: Required value/]);
  t.match(errors(rc({ selector: { app: 'web' } })), [/^spec.template: Required value/]);
  t.match(errors(rc({ replicas: -1, template: template({ app: 'web' }) })), [
    /^spec.replicas: Invalid value: -1: must be greater than or equal to 0/,
  ]);
  t.match(errors(rc({ template: template({ app: 'web' }, { restartPolicy: 'Never' }) })), [
    /^spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"/,
  ]);
  t.match(errors(rc({ template: template({ app: 'web' }, { activeDeadlineSeconds: 5 }) })), [/activeDeadlineSeconds: Forbidden/]);
  t.match(errors(rc({ selector: { 'bad key!': 'x' }, template: template({ 'bad key!': 'x' }) }, { labels: { ok: 'yes' } })), [
    /^spec.selector: Invalid value: "bad key!"/,
  ]);
  // Unlike a ReplicaSet's, the selector may change (together with the template).
  const old = defaulted(rc({ template: template({ app: 'web' }) }));
  t.same(errors(rc({ selector: { app: 'web2' }, template: template({ app: 'web2' }) }), old), []);
});

t.test('kubectl columns: NAME DESIRED CURRENT READY AGE, wide CONTAINERS IMAGES SELECTOR', async (t) => {
  const now = new Date('2026-01-01T12:00:00Z');
  const o = {
    ...rc({ replicas: 3, selector: { tier: 'front', app: 'web' }, template: template({ app: 'web', tier: 'front' }) }),
    status: { replicas: 2, readyReplicas: 1 },
  };
  o.metadata!.creationTimestamp = '2026-01-01T11:58:00Z';
  const cols = columnsOf(def);
  t.same(
    cols.map((c) => `${c.name}${c.priority ? '*' : ''}`),
    ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers*', 'Images*', 'Selector*'],
  );
  const table = toTable(def, [o as StoredObject], {}, now) as { rows: { cells: unknown[] }[] };
  t.same(table.rows[0]!.cells, ['web', 3, 2, 1, '2m', 'c', 'busybox', 'app=web,tier=front']);
});

t.test('the scale view reads the plain selector as a label selector string', async (t) => {
  const o = { ...rc({ replicas: 3, selector: { tier: 'front', app: 'web' } }), status: { replicas: 2 } };
  o.metadata = { ...o.metadata, uid: 'u', resourceVersion: '5' };
  t.match(toScale(o as StoredObject, def.scale!), {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    spec: { replicas: 3 },
    status: { replicas: 2, selector: 'app=web,tier=front' },
  });
  const rs = registry.byResource('apps', 'v1', 'replicasets')!;
  const withExpr = {
    metadata: { name: 'x' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'v', operator: 'In', values: ['1'] }] } },
    status: { replicas: 1 },
  };
  t.match(
    toScale(withExpr as unknown as StoredObject, rs.scale!),
    { status: { selector: 'app=web,v in (1)' } },
    "a ReplicaSet's LabelSelector still reads as before",
  );
});
