// APIServices against the in-process API stack: the local ones at start (and corrected at the next
// start), a CRD's coming and going with it, and a non-local one's condition following its service.
import path from 'node:path';
import t from 'tap';
import { openSqliteStore } from '../../src/store/index.js';
import { createApiServer } from '../../src/apiserver/api-server.js';
import { generateKey, keyToPem } from '../../src/pki/certificates.js';
import { tempDir } from '../helpers/tmp.js';
import { apiHarness } from './harness.js';
import { eventually } from '../helpers/eventually.js';

const BASE = '/apis/apiregistration.k8s.io/v1/apiservices';

const crd = (group: string, plural: string, versions = ['v1']) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, singular: plural.slice(0, -1), kind: plural[0]!.toUpperCase() + plural.slice(1, -1) },
    versions: versions.map((name, i) => ({
      name,
      served: true,
      storage: i === 0,
      schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    })),
  },
});

t.test('every built-in group/version has a local APIService, Available before the server is ready', async (t) => {
  const h = await apiHarness(t);
  const list = (await h.request('GET', BASE)).body;
  t.equal(list.kind, 'APIServiceList');
  const names = list.items.map((i: any) => i.metadata.name);
  for (const n of ['v1.', 'v1.apps', 'v1.batch', 'v2.autoscaling', 'v1.apiextensions.k8s.io', 'v1.rbac.authorization.k8s.io'])
    t.ok(names.includes(n), n);
  t.notOk(names.includes('v1.apiregistration.k8s.io'));
  for (const item of list.items) {
    t.match(
      item.status.conditions,
      [{ type: 'Available', status: 'True', reason: 'Local', message: 'Local APIServices are always available', lastTransitionTime: /Z$/ }],
      `${item.metadata.name} Available`,
    );
    t.notOk('service' in item.spec, `${item.metadata.name}: no service`);
  }
  const apps = (await h.request('GET', `${BASE}/v1.apps`)).body;
  t.match(apps, {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { labels: { 'kube-aggregator.kubernetes.io/automanaged': 'onstart' } },
    spec: { group: 'apps', version: 'v1', groupPriorityMinimum: 17800, versionPriority: 15 },
  });
  const table = await h.request('GET', BASE, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
  t.match(table.body.rows.find((r: any) => r.cells[0] === 'v1.apps').cells, ['v1.apps', 'Local', 'True', /^\d+s$/]);
});

t.test("a CRD brings its group/version's APIService; the last CRD serving it takes it away", async (t) => {
  const h = await apiHarness(t);
  const get = (name: string) => h.request('GET', `${BASE}/${name}`);
  t.equal(
    (await h.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd('example.com', 'widgets', ['v1', 'v2'])))
      .status,
    201,
  );
  await h.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd('example.com', 'gadgets'));
  const made = await eventually(async () => {
    const r = await get('v1.example.com');
    return r.status === 200 && r.body.status?.conditions?.[0]?.status === 'True' ? r.body : undefined;
  });
  t.match(made, {
    metadata: { labels: { 'kube-aggregator.kubernetes.io/automanaged': 'true' } },
    spec: { group: 'example.com', version: 'v1', groupPriorityMinimum: 1000, versionPriority: 100 },
    status: { conditions: [{ reason: 'Local' }] },
  });
  t.equal(await eventually(async () => (await get('v2.example.com')).status === 200), true, 'one per served version');
  const uid = (made as any).metadata.uid;

  await h.request('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com');
  t.ok(await eventually(async () => (await get('v2.example.com')).status === 404), 'v2 was served by that CRD alone: gone');
  t.equal((await get('v1.example.com')).body.metadata?.uid, uid, 'v1 is still served by the other: kept, not recreated');
  await h.request('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com');
  t.ok(await eventually(async () => (await get('v1.example.com')).status === 404), 'the last one gone: so is the APIService');
});

t.test('a non-local APIService is stored and says what its service lacks; discovery is unaffected', async (t) => {
  const h = await apiHarness(t);
  const body = {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1beta1.metrics.k8s.io' },
    spec: {
      group: 'metrics.k8s.io',
      version: 'v1beta1',
      groupPriorityMinimum: 100,
      versionPriority: 100,
      insecureSkipTLSVerify: true,
      service: { namespace: 'kube-system', name: 'metrics-server' },
    },
  };
  const created = await h.request('POST', BASE, body);
  t.equal(created.status, 201);
  t.equal(created.body.spec.service.port, 443);
  const reason = async (want: string) =>
    eventually(async () => {
      const c = (await h.request('GET', `${BASE}/v1beta1.metrics.k8s.io`)).body.status?.conditions?.[0];
      return c?.reason === want ? c : undefined;
    });
  t.match(await reason('ServiceNotFound'), { status: 'False', message: 'service/metrics-server in "kube-system" is not present' });
  await h.request('POST', '/api/v1/namespaces/kube-system/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'metrics-server' },
    spec: { ports: [{ name: 'https', port: 443, targetPort: 4443 }] },
  });
  t.ok(await reason('EndpointsNotFound'), 'the service came: now its endpoints are missing');
  await h.request('POST', '/api/v1/namespaces/kube-system/endpoints', {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'metrics-server' },
    subsets: [{ addresses: [{ ip: '10.42.0.9' }], ports: [{ name: 'https', port: 4443 }] }],
  });
  t.match(await reason('FailedDiscoveryCheck'), { status: 'False', message: /skiff does not proxy/ });

  const groups = (await h.request('GET', '/apis')).body.groups.map((g: any) => g.name);
  t.notOk(groups.includes('metrics.k8s.io'), 'the group it names is not served, so not listed');
  t.ok(groups.includes('apiregistration.k8s.io'));
  t.equal((await h.request('GET', '/apis/metrics.k8s.io/v1beta1')).status, 404);
});

t.test('local APIServices are reconciled at every start', async (t) => {
  const dir = tempDir(t);
  const keyPem = await keyToPem((await generateKey()).privateKey);
  const start = async () => {
    const store = await openSqliteStore({ file: path.join(dir, 'state.db') });
    const stack = await createApiServer({ store, serviceAccountKeyPem: keyPem });
    const request = async (method: string, url: string, body?: unknown) => {
      const res = await stack.app.fetch(
        new Request(`https://skiff.test${url}`, {
          method,
          body: body === undefined ? undefined : JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }),
        { user: { username: 'admin', groups: ['system:masters'] } },
      );
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    return {
      request,
      stop: async () => {
        await stack.close();
        await store.close();
      },
    };
  };
  const first = await start();
  const apps = (await first.request('GET', `${BASE}/v1.apps`)).body;
  await first.request('PUT', `${BASE}/v1.apps`, { ...apps, spec: { ...apps.spec, groupPriorityMinimum: 5 } });
  t.equal((await first.request('DELETE', `${BASE}/v1.batch`)).status, 200);
  t.equal((await first.request('GET', `${BASE}/v1.batch`)).status, 404, 'deleted by hand: stays deleted while running');
  const mine = {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1.example.org' },
    spec: { group: 'example.org', version: 'v1', groupPriorityMinimum: 10, versionPriority: 10 },
  };
  await first.request('POST', BASE, mine);
  await first.stop();

  const second = await start();
  t.teardown(second.stop);
  t.equal((await second.request('GET', `${BASE}/v1.apps`)).body.spec.groupPriorityMinimum, 17800, 'corrected');
  t.match(
    (await second.request('GET', `${BASE}/v1.batch`)).body,
    { spec: { group: 'batch' }, status: { conditions: [{ status: 'True', reason: 'Local' }] } },
    'recreated',
  );
  t.match(
    (await second.request('GET', `${BASE}/v1.example.org`)).body,
    { spec: { groupPriorityMinimum: 10 }, status: { conditions: [{ status: 'True', reason: 'Local' }] } },
    "one of the user's own stays as it is, and local ones are Available",
  );
});
