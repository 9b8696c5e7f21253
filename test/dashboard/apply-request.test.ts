// The YAML editor's Apply: the request built from its text, then sent to the in-process API server.
import t from 'tap';
import { applyRequest, editableYaml, findResource, parseManifest } from '../../src/dashboard/apply-request.js';
import { apiHarness } from '../apiserver/harness.js';

const CM = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: blue
`;

t.test('the request: a server-side apply at the path of the kind, namespaced by default', async (t) => {
  const configmaps = { name: 'configmaps', kind: 'ConfigMap', namespaced: true };
  const req = applyRequest(parseManifest(CM), configmaps, 'team-a');
  t.equal(req.path, '/api/v1/namespaces/team-a/configmaps/settings?fieldManager=skiff-dashboard&force=true');
  t.same(req.init.headers, { 'content-type': 'application/apply-patch+yaml' });
  t.same(JSON.parse(req.init.body).metadata, { name: 'settings', namespace: 'team-a' });
  const crb = parseManifest('apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: viewer}\n');
  t.equal(
    applyRequest(crb, { name: 'clusterroles', kind: 'ClusterRole', namespaced: false }).path,
    '/apis/rbac.authorization.k8s.io/v1/clusterroles/viewer?fieldManager=skiff-dashboard&force=true',
    'a cluster-scoped kind under its group, without a namespace',
  );
  const other = parseManifest(CM.replace('name: settings', 'name: settings\n  namespace: prod'));
  t.match(applyRequest(other, configmaps, 'team-a').path, /^\/api\/v1\/namespaces\/prod\//, "the object's own namespace wins");
});

t.test('what the editor refuses before sending', async (t) => {
  t.throws(() => parseManifest('- a\n- b\n'), /not an object/);
  t.throws(() => parseManifest('kind: ConfigMap\nmetadata: {name: x}\n'), /apiVersion and kind/);
  t.throws(() => parseManifest('apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n'), /metadata.name/);
  t.throws(() => parseManifest(`${CM}---\n${CM}`), /expected one object, found 2/);
  t.throws(() => parseManifest('a: [unclosed'));
  t.ok(parseManifest(`---\n${CM}---\n`), 'document markers around one object are fine');
  t.same(
    findResource(
      [
        { name: 'pods/log', kind: 'Pod', namespaced: true },
        { name: 'pods', kind: 'Pod', namespaced: true },
      ],
      'Pod',
    )?.name,
    'pods',
  );
});

t.test('an object shown, edited and applied over the one kubectl created', async (t) => {
  const h = await apiHarness(t);
  const created = await h.request('POST', '/api/v1/namespaces/default/configmaps', {
    metadata: { name: 'settings' },
    data: { color: 'red' },
  });
  t.equal(created.status, 201);
  const shown = editableYaml(created.body);
  t.notMatch(shown, /resourceVersion|uid|managedFields|creationTimestamp/, 'no server bookkeeping in the editor');
  const edited = shown.replace('color: red', 'color: green\n  size: large');
  const discovery = await h.request('GET', '/api/v1');
  const obj = parseManifest(edited);
  const req = applyRequest(obj, findResource(discovery.body.resources, obj.kind!)!);
  const applied = await h.raw(req.init.method, req.path, req.init.body, req.init.headers);
  t.equal(applied.status, 200, await applied.clone().text());
  const now = await h.request('GET', '/api/v1/namespaces/default/configmaps/settings');
  t.same(now.body.data, { color: 'green', size: 'large' });
  t.ok(
    now.body.metadata.managedFields.some(
      (f: { manager: string; operation: string }) => f.manager === 'skiff-dashboard' && f.operation === 'Apply',
    ),
    'the dashboard is the field manager of the apply',
  );
});
