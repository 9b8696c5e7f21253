// APIService: the registry entry (columns, defaults, validation), which local APIServices the
// registry calls for, the autoregistration plan, and the Available condition.
import t from 'tap';
import { Registry } from '../../src/api/registry/registry.js';
import { builtinResources } from '../../src/api/registry/builtin/index.js';
import { columnsOf, toTable } from '../../src/apiserver/table.js';
import { desiredAPIServices } from '../../src/api/apiservices/local.js';
import { plan } from '../../src/api/apiservices/autoregister.js';
import { availableCondition, withCondition } from '../../src/api/apiservices/availability.js';
import type { APIService } from '../../src/api/apiservices/types.js';
import type { KObject, StoredObject } from '../../src/k8s/object.js';

const registry = new Registry(builtinResources());
const def = registry.byResource('apiregistration.k8s.io', 'v1', 'apiservices')!;
const svc = (name: string, spec: APIService['spec'], status?: APIService['status']): APIService => ({
  apiVersion: 'apiregistration.k8s.io/v1',
  kind: 'APIService',
  metadata: { name },
  spec,
  ...(status ? { status } : {}),
});
const errors = (o: APIService) => {
  def.defaults?.(o as KObject);
  return def.validate!(o as KObject).map((e) => `${e.field}: ${e.detail}`);
};
const remote = (extra: Record<string, unknown> = {}) =>
  svc('v1beta1.metrics.k8s.io', {
    group: 'metrics.k8s.io',
    version: 'v1beta1',
    groupPriorityMinimum: 100,
    versionPriority: 100,
    service: { namespace: 'kube-system', name: 'metrics-server' },
    ...extra,
  });

t.test('served cluster-scoped in apiregistration.k8s.io/v1 with status, category api-extensions', async (t) => {
  t.match(def, {
    kind: 'APIService',
    namespaced: false,
    statusSubresource: true,
    categories: ['api-extensions'],
    schemaName: 'io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService',
  });
});

t.test('columns: NAME SERVICE AVAILABLE AGE', async (t) => {
  const now = new Date('2026-01-01T12:00:00Z');
  const at = { creationTimestamp: '2026-01-01T11:59:00Z', uid: 'u', resourceVersion: '1' };
  const local = svc(
    'v1.apps',
    { group: 'apps', version: 'v1', groupPriorityMinimum: 17800, versionPriority: 15 },
    { conditions: [{ type: 'Available', status: 'True', reason: 'Local' }] },
  );
  const down = { ...remote(), status: { conditions: [{ type: 'Available', status: 'False', reason: 'ServiceNotFound' }] } };
  const unknown = remote();
  const objs = [local, down, unknown].map((o) => ({ ...o, metadata: { ...o.metadata, ...at } }) as unknown as StoredObject);
  t.same(
    columnsOf(def).map((c) => c.name),
    ['Name', 'Service', 'Available', 'Age'],
  );
  const table = toTable(def, objs, {}, now) as { rows: { cells: unknown[] }[] };
  t.same(
    table.rows.map((r) => r.cells),
    [
      ['v1.apps', 'Local', 'True', '60s'],
      ['v1beta1.metrics.k8s.io', 'kube-system/metrics-server', 'False (ServiceNotFound)', '60s'],
      ['v1beta1.metrics.k8s.io', 'kube-system/metrics-server', 'Unknown', '60s'],
    ],
  );
});

t.test('defaults and validation as kube-aggregator', async (t) => {
  const o = remote();
  t.same(errors(o), []);
  t.equal(o.spec!.service!.port, 443, 'the service port defaults to 443');
  t.same(errors(svc('v1.', { group: '', version: 'v1', groupPriorityMinimum: 18000, versionPriority: 1 })), [], 'the core group is v1.');
  t.match(errors(svc('v1.wrong', { group: 'apps', version: 'v1', groupPriorityMinimum: 1, versionPriority: 1 })), [
    'metadata.name: Invalid value: "v1.wrong": must be `spec.version+"."+spec.group`: "v1.apps"',
  ]);
  t.match(errors(svc('v2.', { group: '', version: 'v2', groupPriorityMinimum: 1, versionPriority: 1 })), [
    /^spec.group: Required value: only v1 may have an empty group/,
  ]);
  t.match(errors(svc('v1.apps', { group: 'apps', version: 'v1', groupPriorityMinimum: 0, versionPriority: 1001 })), [
    /^spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000/,
    /^spec.versionPriority: Invalid value: 1001: must be positive and less than 1000/,
  ]);
  t.match(
    errors(svc('v1.apps', { group: 'apps', version: 'v1', groupPriorityMinimum: 1, versionPriority: 1, insecureSkipTLSVerify: true })),
    [/local APIServices may not have insecureSkipTLSVerify/],
  );
  t.match(errors(remote({ service: { namespace: 'kube-system' } })), [/^spec.service.name: Required value/]);
  t.match(errors(remote({ insecureSkipTLSVerify: true, caBundle: 'Y2E=' })), [/may not be true if caBundle is present/]);
  t.match(errors(svc('V1.apps', { group: 'apps', version: 'V1', groupPriorityMinimum: 1, versionPriority: 1 })), [
    /^spec.version: Invalid value: "V1"/,
  ]);
});

t.test('the local APIServices: one per built-in group/version with upstream priorities, CRD ones at 1000/100', async (t) => {
  const byName = new Map(desiredAPIServices(registry).map((s) => [s.metadata!.name!, s]));
  t.match(byName.get('v1.'), {
    metadata: { labels: { 'kube-aggregator.kubernetes.io/automanaged': 'onstart' } },
    spec: { group: '', version: 'v1', groupPriorityMinimum: 18000, versionPriority: 1 },
  });
  t.match(byName.get('v1.apps')?.spec, { groupPriorityMinimum: 17800, versionPriority: 15 });
  t.match(byName.get('v2.autoscaling')?.spec, { groupPriorityMinimum: 17500, versionPriority: 30 });
  t.match(byName.get('v1.apiextensions.k8s.io')?.spec, { groupPriorityMinimum: 16700, versionPriority: 15 });
  t.notOk(byName.has('v1.apiregistration.k8s.io'), 'the aggregator registers none for its own group');
  t.notOk(byName.get('v1.apps')?.spec && 'service' in byName.get('v1.apps')!.spec!, 'no service: local');
  for (const gv of registry.groupVersions().filter((g) => g.group !== 'apiregistration.k8s.io'))
    t.ok(byName.has(`${gv.version}.${gv.group}`), `${gv.version}.${gv.group}`);

  const withCrds = new Registry(builtinResources());
  const custom = {
    group: 'example.com',
    version: 'v1alpha1',
    kind: 'Widget',
    plural: 'widgets',
    singular: 'widget',
    namespaced: true,
    custom: true,
  };
  withCrds.add(custom);
  withCrds.add({ ...custom, plural: 'gadgets', kind: 'Gadget' });
  withCrds.add({ ...custom, group: 'apps', version: 'v1', plural: 'odd', kind: 'Odd' });
  const crd = desiredAPIServices(withCrds).filter((s) => s.metadata?.labels?.['kube-aggregator.kubernetes.io/automanaged'] === 'true');
  t.same(
    crd.map((s) => [s.metadata!.name, s.spec!.groupPriorityMinimum, s.spec!.versionPriority]),
    [['v1alpha1.example.com', 1000, 100]],
    'one per group/version, none for a built-in one',
  );
});

t.test("the autoregistration plan follows upstream's table", async (t) => {
  const want = (managed: string): APIService => ({
    ...svc('v1.x', { group: 'x', version: 'v1', groupPriorityMinimum: 1000, versionPriority: 100 }),
    metadata: { name: 'v1.x', labels: { 'kube-aggregator.kubernetes.io/automanaged': managed } },
  });
  const stored = (managed: string | undefined, spec: APIService['spec'] = want('true').spec) =>
    ({
      ...svc('v1.x', spec),
      metadata: {
        name: 'v1.x',
        uid: 'u',
        resourceVersion: '1',
        labels: managed ? { 'kube-aggregator.kubernetes.io/automanaged': managed } : {},
      },
    }) as never;
  t.equal(plan(want('onstart'), undefined, true), 'create', 'built-in, missing, at start: created');
  t.equal(plan(want('onstart'), undefined, false), undefined, 'built-in, deleted later: left until the next start');
  t.equal(plan(want('true'), undefined, false), 'create', "a CRD's: created whenever missing");
  t.equal(plan(want('true'), stored('true'), false), undefined, 'same: nothing');
  t.equal(
    plan(want('onstart'), stored('onstart', { ...want('onstart').spec, groupPriorityMinimum: 5 }), true),
    'update',
    'changed by hand: corrected at start',
  );
  t.equal(plan(undefined, stored('true'), false), 'delete', "a CRD's, no longer served: deleted");
  t.equal(plan(undefined, stored('onstart'), true), 'delete', 'a built-in one no longer served: deleted at start');
  t.equal(plan(undefined, stored(undefined), true), undefined, "the user's own: never touched");
  t.equal(
    plan(want('true'), stored(undefined, { ...want('true').spec, versionPriority: 7 }), false),
    undefined,
    "even when it names a CRD's group/version",
  );
});

t.test('the Available condition: Local, or what a service lacks', async (t) => {
  const local = svc('v1.apps', { group: 'apps', version: 'v1' });
  t.match(availableCondition(local, undefined, undefined), {
    status: 'True',
    reason: 'Local',
    message: 'Local APIServices are always available',
  });
  const r = remote({ service: { namespace: 'kube-system', name: 'metrics-server', port: 443 } });
  t.match(availableCondition(r, undefined, undefined), {
    status: 'False',
    reason: 'ServiceNotFound',
    message: 'service/metrics-server in "kube-system" is not present',
  });
  const service = { spec: { ports: [{ name: 'https', port: 443 }] } };
  t.match(availableCondition(r, { spec: { ports: [{ port: 80 }] } }, undefined), {
    reason: 'ServicePortError',
    message: 'service/metrics-server in "kube-system" is not listening on port 443',
  });
  t.match(availableCondition(r, service, undefined), {
    reason: 'EndpointsNotFound',
    message: 'cannot find endpoints for service/metrics-server in "kube-system"',
  });
  t.match(
    availableCondition(r, service, { subsets: [{ notReadyAddresses: [{ ip: '10.42.0.5' }], ports: [{ name: 'https', port: 4443 }] }] }),
    {
      reason: 'MissingEndpoints',
      message: 'endpoints for service/metrics-server in "kube-system" have no addresses with port name "https"',
    },
  );
  t.match(availableCondition(r, service, { subsets: [{ addresses: [{ ip: '10.42.0.5' }], ports: [{ name: 'https', port: 4443 }] }] }), {
    status: 'False',
    reason: 'FailedDiscoveryCheck',
  });

  const first = withCondition(r, availableCondition(r, undefined, undefined), '2026-01-01T00:00:00Z')!;
  t.equal(first.conditions![0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
  t.equal(withCondition({ ...r, status: first }, availableCondition(r, undefined, undefined)), undefined, 'unchanged: nothing to write');
  const next = withCondition({ ...r, status: first }, availableCondition(r, service, undefined), '2026-01-02T00:00:00Z')!;
  t.match(
    next.conditions,
    [{ reason: 'EndpointsNotFound', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    'still False: the transition time stays',
  );
});
