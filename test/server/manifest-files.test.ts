// The deployer's pure rules: which files count, Addon names, parsing, apply order and pruning.
import t from 'tap';
import {
  addonName,
  applyOrder,
  checksum,
  parseManifest,
  selectFiles,
  staleObjects,
  unionObjects,
} from '../../src/server/manifest-files.js';

t.test('files: manifests only, .skip markers hold back, --disable drops', async (t) => {
  const names = ['web.yaml', 'db.yml', 'crd.json', 'notes.txt', '.web.yaml.swp', 'traefik.yaml', 'old.yaml', 'old.yaml.skip'];
  t.same(selectFiles(names, ['traefik']), { deploy: ['crd.json', 'db.yml', 'web.yaml'], skipped: ['old.yaml'] });
  t.same(selectFiles(['a.yaml'], []).deploy, ['a.yaml']);
});

t.test('Addon names: the file name without extension, a valid object name', async (t) => {
  t.equal(addonName('traefik.yaml'), 'traefik');
  t.equal(addonName('local-storage.json'), 'local-storage');
  t.equal(addonName('My_App v2.yml'), 'my-app-v2');
});

t.test('checksum is the sha256 of the content', async (t) => {
  t.equal(checksum(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

t.test('parsing: multi-document YAML, JSON, Lists, empty documents', async (t) => {
  const yaml = [
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n',
    '',
    'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n',
  ].join('---\n');
  t.same(
    parseManifest(yaml).map((o) => `${o.kind}/${o.metadata.name}`),
    ['ConfigMap/a', 'Secret/b'],
  );
  t.same(parseManifest('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"}}')[0]?.kind, 'Namespace');
  t.same(parseManifest(''), []);
});

t.test('parsing: bad input names the document and what is wrong', async (t) => {
  t.throws(() => parseManifest('a: [1, 2'), /document 1/);
  t.throws(() => parseManifest('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: Secret\nmetadata: {name: b}\n'), {
    message: 'document 2: apiVersion not set',
  });
  t.throws(() => parseManifest('apiVersion: v1\nkind: ConfigMap\n'), { message: 'document 1: metadata.name not set' });
  t.throws(() => parseManifest('- 1\n- 2\n'), { message: 'document 1: not an object' });
});

t.test('CRDs and namespaces are applied first, the rest in file order', async (t) => {
  const o = (kind: string, name: string) => ({ apiVersion: 'v1', kind, metadata: { name } });
  const order = applyOrder([o('Boat', 'b'), o('ConfigMap', 'c'), o('Namespace', 'n'), o('CustomResourceDefinition', 'boats')]);
  t.same(
    order.map((x) => x.metadata.name),
    ['boats', 'n', 'b', 'c'],
  );
});

t.test('stale objects: those a new version no longer has, across versions of a group', async (t) => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' };
  const hpa1 = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', namespace: 'default', name: 'h' };
  const hpa2 = { ...hpa1, apiVersion: 'autoscaling/v2' };
  const ns = { apiVersion: 'v1', kind: 'Namespace', name: 'n' };
  t.same(staleObjects([cm, hpa1, ns], [hpa2]), [cm, ns]);
  t.same(staleObjects([cm, cm], []), [cm]);
  t.same(unionObjects([cm], [cm, ns]), [cm, ns]);
});
