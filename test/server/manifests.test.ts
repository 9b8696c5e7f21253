// The manifests deployer against the in-process API: files applied, changed, broken, removed,
// disabled and skipped, CRDs with their objects in one file, and a removal seen after a restart.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ApiClient } from '../../src/client/rest-client.js';
import { configMaps, dynamic, namespaces, secrets } from '../../src/client/resources.js';
import { inProcessTransport } from '../../src/client/transport.js';
import { isNotFound } from '../../src/k8s/errors.js';
import { ADDON_LABEL } from '../../src/server/manifest-apply.js';
import { startManifests } from '../../src/server/manifests.js';
import { admin, apiHarness } from '../apiserver/harness.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';

const addonType = dynamic('k3s.cattle.io', 'v1', 'addons', 'Addon', true);
const boats = dynamic('skiff.example.com', 'v1', 'boats', 'Boat', true);

const configMap = (name: string, data: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: default}\ndata: ${JSON.stringify(data)}\n`;
const secret = (name: string) => `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}}\nstringData: {k: v}\n`;
const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: boats.skiff.example.com}
spec:
  group: skiff.example.com
  scope: Namespaced
  names: {plural: boats, singular: boat, kind: Boat}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;

async function setup(t: Test, disabled: string[] = []) {
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  await api
    .resource(namespaces)
    .create({ metadata: { name: 'kube-system' } })
    .catch(() => {});
  const dir = path.join(tempDir(t), 'manifests');
  let deployer = startManifests({ dir, client: api, disabled, rescanMs: 500 });
  t.teardown(() => deployer.stop());
  const gone = async (get: () => Promise<unknown>) =>
    get().then(
      () => false,
      (err) => isNotFound(err),
    );
  return {
    api,
    dir,
    write: (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text),
    gone,
    addon: (name: string) => api.resource(addonType).get('kube-system', name),
    async restart(between: () => void) {
      await deployer.stop();
      between();
      deployer = startManifests({ dir, client: api, disabled, rescanMs: 500 });
    },
  };
}

t.test('a file is applied, changed, broken and removed', async (t) => {
  const s = await setup(t);
  const cms = s.api.resource(configMaps);
  s.write('app.yaml', `${configMap('app', { v: '1' })}---\n${secret('token')}`);
  const cm = await eventually(() => cms.get('default', 'app'), { what: 'the ConfigMap applied' });
  t.same(cm.data, { v: '1' });
  t.equal(cm.metadata?.labels?.[ADDON_LABEL], 'app');
  t.ok(cm.metadata?.managedFields?.some((f) => f.manager === 'skiff-deploy' && f.operation === 'Apply'));
  // A namespaced object without a namespace goes to default, as kubectl apply puts it.
  await eventually(() => s.api.resource(secrets).get('default', 'token'));
  const addon = await eventually(async () => {
    const a = await s.addon('app');
    return (a.status as { appliedChecksum?: string })?.appliedChecksum ? a : undefined;
  });
  t.match(addon.spec, { source: path.join(s.dir, 'app.yaml'), checksum: /^[0-9a-f]{64}$/ });
  t.match(addon.status, {
    objects: [
      { kind: 'ConfigMap', name: 'app' },
      { kind: 'Secret', name: 'token', namespace: 'default' },
    ],
  });

  // Changed: the ConfigMap updated (over another manager's change: conflicts are forced), the Secret the file dropped deleted.
  await cms.patch('default', 'app', { data: { v: 'edited' } });
  s.write('app.yaml', configMap('app', { v: '2' }));
  await eventually(async () => (await cms.get('default', 'app')).data?.v === '2', { what: 'the ConfigMap updated' });
  await eventually(() => s.gone(() => s.api.resource(secrets).get('default', 'token')), { what: 'the dropped Secret deleted' });

  // Broken: reported on the Addon, nothing deleted.
  s.write('app.yaml', 'apiVersion: v1\nkind: [oops\n');
  const failed = await eventually(async () => {
    const a = await s.addon('app');
    const c = (a.status as { conditions?: { type: string; status: string; message: string }[] })?.conditions?.[0];
    return c?.status === 'False' ? c : undefined;
  });
  t.match(failed.message, /app\.yaml: document 1/);
  t.equal((await cms.get('default', 'app')).data?.v, '2');
  // An unknown kind is reported the same way, the rest of the file still applied.
  s.write('app.yaml', `${configMap('app', { v: '3' })}---\napiVersion: example.com/v1\nkind: Nothing\nmetadata: {name: x}\n`);
  await eventually(async () => (await cms.get('default', 'app')).data?.v === '3');
  await eventually(async () => JSON.stringify((await s.addon('app')).status).includes('no matches for kind \\"Nothing\\"'));

  // Removed: the objects and the Addon deleted.
  fs.rmSync(path.join(s.dir, 'app.yaml'));
  await eventually(() => s.gone(() => cms.get('default', 'app')), { what: 'the ConfigMap deleted' });
  await eventually(() => s.gone(() => s.addon('app')), { what: 'the Addon deleted' });
});

t.test('a CRD and its objects in one file', async (t) => {
  const s = await setup(t);
  s.write('boats.yaml', `apiVersion: skiff.example.com/v1\nkind: Boat\nmetadata: {name: skiff}\nspec: {oars: 2}\n---\n${crd}`);
  const boat = await eventually(() => s.api.resource(boats).get('default', 'skiff'), { what: 'the Boat applied' });
  t.same(boat.spec, { oars: 2 });
});

t.test('--disable and .skip', async (t) => {
  const s = await setup(t, ['off']);
  s.write('off.yaml', configMap('off', {}));
  s.write('held.yaml', configMap('held', {}));
  s.write('held.yaml.skip', '');
  s.write('on.yaml', configMap('on', {}));
  const cms = s.api.resource(configMaps);
  await eventually(() => cms.get('default', 'on'));
  // The pass that applied on.yaml saw the others and left them.
  t.ok(await s.gone(() => cms.get('default', 'off')));
  t.ok(await s.gone(() => cms.get('default', 'held')));
  t.ok(await s.gone(() => s.addon('off')));
});

t.test('a file removed while the server was down is removed at start', async (t) => {
  const s = await setup(t);
  const cms = s.api.resource(configMaps);
  s.write('a.yaml', configMap('a', {}));
  s.write('b.yaml', configMap('b', {}));
  await eventually(async () => (await cms.list('default', { labelSelector: ADDON_LABEL })).items.length === 2);
  await eventually(async () => (await s.api.resource(addonType).list('kube-system')).items.length === 2);
  await s.restart(() => fs.rmSync(path.join(s.dir, 'a.yaml')));
  await eventually(() => s.gone(() => cms.get('default', 'a')), { what: 'a.yaml objects deleted' });
  t.ok(await cms.get('default', 'b'));
});
