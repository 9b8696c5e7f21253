// APIServices through the real kubectl: the local ones Available, a CRD's coming and going, a
// non-local one stored and shown False without breaking discovery, and the local ones restored by
// a restart.
import t from 'tap';
import { API_ONLY, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { oldKubectl } from '../helpers/old-kubectl.js';

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {size: {type: integer}}}}}
`;

const metrics = `apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.custom.metrics.k8s.io
spec:
  group: custom.metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service:
    namespace: kube-system
    name: custom-metrics-apiserver
`;

t.test("kubectl get apiservices: local ones, a CRD's, a non-local one, and a restart", async (t) => {
  const c = await startCluster(t, API_ONLY);
  const list = await c.k('get', 'apiservices');
  t.match(list, /^NAME\s+SERVICE\s+AVAILABLE\s+AGE\n/);
  for (const name of ['v1.', 'v1.apps', 'v1.batch', 'v2.autoscaling', 'v1.apiextensions.k8s.io', 'v1.coordination.k8s.io']) {
    t.match(list, new RegExp(`^${name.replaceAll('.', '\\.')}\\s+Local\\s+True\\s+\\d+[smh]\\S*$`, 'm'), `${name} Local True`);
  }
  t.equal(
    await c.k(
      'get',
      'apiservice',
      'v1.apps',
      '-o',
      'jsonpath={.spec.group} {.spec.groupPriorityMinimum} {.spec.versionPriority} ' +
        '{.status.conditions[0].type}={.status.conditions[0].status} {.status.conditions[0].reason}',
    ),
    'apps 17800 15 Available=True Local',
  );
  t.equal(await c.k('get', 'apiservice', 'v1.', '-o', 'jsonpath={.spec.groupPriorityMinimum}'), '18000');
  t.match(
    await c.k('explain', 'apiservice.spec.groupPriorityMinimum'),
    /GroupPriorityMinimum is the priority this group should have at least/,
  );
  // Debian's kubectl 1.20 reads the schema from /openapi/v2 in protobuf form.
  const old = await c.kubectl(['explain', 'apiservice.spec.versionPriority'], { bin: oldKubectl() });
  t.match(old.stdout, /FIELD:\s+versionPriority <integer>[\s\S]*VersionPriority controls the ordering/);
  t.match((await c.kubectl(['get', 'apiservices'], { bin: oldKubectl() })).stdout, /^v1\.apps\s+Local\s+True\s+\d+[smh]\S*$/m);

  // A CRD: its group/version gets an APIService, gone again with the CRD.
  t.equal(
    (await c.kubectl(['apply', '-f', '-'], { input: crd })).stdout,
    'customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n',
  );
  const row = await eventually(async () => (await c.k('get', 'apiservices')).match(/^v1\.example\.com\s+Local\s+True\s+\d+[smh]\S*$/m));
  t.ok(row, 'v1.example.com is Local and Available');
  t.equal(
    await c.k('get', 'apiservice', 'v1.example.com', '-o', 'jsonpath={.spec.groupPriorityMinimum} {.spec.versionPriority}'),
    '1000 100',
  );
  await c.k('delete', 'crd', 'widgets.example.com');
  t.ok(await eventually(async () => (await c.kubectl(['get', 'apiservice', 'v1.example.com'])).code !== 0), 'and removed with the CRD');

  // Not local: stored, reported unavailable, and discovery goes on as before.
  t.equal(
    (await c.kubectl(['apply', '-f', '-'], { input: metrics })).stdout,
    'apiservice.apiregistration.k8s.io/v1beta1.custom.metrics.k8s.io created\n',
  );
  const shown = await eventually(async () => {
    const out = await c.k('get', 'apiservice', 'v1beta1.custom.metrics.k8s.io');
    return /False \(ServiceNotFound\)/.test(out) ? out : undefined;
  });
  t.match(shown, /^v1beta1\.custom\.metrics\.k8s\.io\s+kube-system\/custom-metrics-apiserver\s+False \(ServiceNotFound\)\s+\d+[smh]\S*$/m);
  t.match(
    await c.k('describe', 'apiservice', 'v1beta1.custom.metrics.k8s.io'),
    /Message:\s+service\/custom-metrics-apiserver in "kube-system" is not present/,
  );
  const resources = await c.kubectl(['api-resources']);
  t.equal(resources.code, 0, 'api-resources still works');
  t.notMatch(resources.stderr, /unable to retrieve/);
  t.match(resources.stdout, /\napiservices\s+apiregistration\.k8s\.io\/v1\s+false\s+APIService\n/);
  const all = await c.kubectl(['get', 'all', '-A']);
  t.equal(all.code, 0);
  t.notMatch(all.stderr, /metrics\.k8s\.io/);
  t.match(await c.k('get', 'apiservices', '-o', 'name'), /apiservice\.apiregistration\.k8s\.io\/v1beta1\.custom\.metrics\.k8s\.io/);

  // A built-in one deleted by hand comes back at the next start; the user's own stays.
  await c.k('delete', 'apiservice', 'v1.batch');
  await c.restart();
  t.match(await c.k('get', 'apiservices'), /^v1\.batch\s+Local\s+True\s+\d+[smh]\S*$/m);
  t.match(await c.k('get', 'apiservice', 'v1beta1.custom.metrics.k8s.io'), /False \(ServiceNotFound\)/);
});
