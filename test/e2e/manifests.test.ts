// Auto-deploying manifests through a real `skiff server` and the real kubectl: files dropped into
// <data-dir>/server/manifests appear as objects, changes and removals follow, --disable and .skip are
// honoured, a broken file is reported and deletes nothing, and `kubectl get addons` lists the records.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { API_ONLY, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';

const configMap = (name: string, v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${v}"}\n`;

t.test('manifests dropped into the data dir are deployed', async (t) => {
  const c = await startCluster(t, [...API_ONLY, '--disable', 'servicelb']);
  const dir = path.join(c.dataDir, 'server', 'manifests');
  const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
  const get = (...args: string[]) => c.kubectl(['get', ...args]);
  const value = async (name: string) => (await get('configmap', name, '-o', 'jsonpath={.data.v}')).stdout;
  const absent = async (...args: string[]) => (await get(...args)).stderr.includes('NotFound');

  // The server made the directory; a file dropped in is applied, each object labelled with its Addon.
  await eventually(() => fs.existsSync(dir), { what: 'the manifests directory' });
  write('web.yaml', `${configMap('web', '1')}---\n${configMap('web-extra', 'x')}`);
  write('servicelb.yaml', configMap('disabled', '1'));
  write('held.yaml.skip', ''); // first: a scan between the two writes would apply held.yaml
  write('held.yaml', configMap('held', '1'));
  await eventually(async () => (await value('web')) === '1' && (await value('web-extra')) === 'x', { what: 'web.yaml applied' });
  t.match(await c.k('get', 'configmaps', '-l', 'skiff.io/addon=web', '-o', 'name'), /configmap\/web\nconfigmap\/web-extra\n/);

  // Addons: one per deployed file, K3s's columns.
  const addons = await eventually(async () => {
    const out = await c.k('get', 'addons', '-n', 'kube-system');
    return /\nweb\s/.test(out) ? out : undefined;
  });
  t.match(addons, /^NAME\s+SOURCE\s+CHECKSUM\s+AGE\n/);
  t.match(addons, new RegExp(`\\nweb\\s+${path.join(dir, 'web.yaml').replace(/\//g, '\\/')}\\s+[0-9a-f]{64}\\s+\\d+s\\n`));
  // --disable servicelb and held.yaml.skip: neither applied nor recorded.
  t.notMatch(addons, /servicelb|held/);
  t.ok(await absent('configmap', 'disabled'));
  t.ok(await absent('configmap', 'held'));

  // Changed: updated, and the object the file no longer has deleted.
  write('web.yaml', configMap('web', '2'));
  await eventually(async () => (await value('web')) === '2', { what: 'web.yaml changed' });
  await eventually(() => absent('configmap', 'web-extra'), { what: 'the dropped ConfigMap deleted' });

  // Broken: a Warning event and the Addon's condition say why; nothing is deleted.
  write('web.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [web\n');
  const events = await eventually(async () => {
    const out = await c.k('get', 'events', '-n', 'kube-system', '--field-selector', 'reason=ApplyManifestFailed');
    return out.includes('web.yaml') ? out : undefined;
  });
  t.match(events, /Warning\s+ApplyManifestFailed\s+addon\/web\s+web\.yaml: document 1/);
  t.match(await c.k('get', 'addon', 'web', '-n', 'kube-system', '-o', 'jsonpath={.status.conditions[0].status}'), 'False');
  t.equal(await value('web'), '2');

  // Removed: the objects and the Addon deleted.
  fs.rmSync(path.join(dir, 'web.yaml'));
  await eventually(() => absent('configmap', 'web'), { what: 'web.yaml objects deleted' });
  await eventually(() => absent('addon', 'web', '-n', 'kube-system'), { what: 'the web Addon deleted' });
});
