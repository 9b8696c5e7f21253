// The local-storage manifest the server stages, the default class a claim gets, and where a node
// keeps its volumes unless told otherwise.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { type NodeConfig, nodeAgentSettings } from '../../src/agent/config.js';
import { defaultClass } from '../../src/api/admission/default-storage-class.js';
import type { StoredObject } from '../../src/k8s/object.js';
import { stageLocalStorage } from '../../src/server/local-storage.js';
import { tempDir } from '../helpers/tmp.js';

t.test('the manifest is written at start, and removed when disabled', async (t) => {
  const dir = path.join(tempDir(t, 'skiff-ls-'), 'manifests');
  stageLocalStorage(dir, []);
  const sc = YAML.parse(fs.readFileSync(path.join(dir, 'local-storage.yaml'), 'utf8'));
  t.same(sc, {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'skiff.io/local-path',
    volumeBindingMode: 'WaitForFirstConsumer',
    reclaimPolicy: 'Delete',
    allowVolumeExpansion: true,
  });
  stageLocalStorage(dir, ['local-storage']);
  t.notOk(fs.existsSync(path.join(dir, 'local-storage.yaml')));
  stageLocalStorage(dir, ['local-storage']);
  t.notOk(fs.existsSync(path.join(dir, 'local-storage.yaml')), 'nothing to remove is fine');
});

t.test('the default class: marked, newest first, then by name', async (t) => {
  const sc = (name: string, created: string, mark?: string): StoredObject =>
    ({
      metadata: { name, creationTimestamp: created, ...(mark ? { annotations: { [mark]: 'true' } } : {}) },
    }) as StoredObject;
  const marked = 'storageclass.kubernetes.io/is-default-class';
  t.equal(defaultClass([sc('a', '2026-01-01T00:00:00Z')]), undefined, 'none marked');
  t.equal(defaultClass([sc('a', '2026-01-01T00:00:00Z', marked), sc('b', '2026-01-02T00:00:00Z', marked)])?.metadata.name, 'b');
  t.equal(defaultClass([sc('b', '2026-01-01T00:00:00Z', marked), sc('a', '2026-01-01T00:00:00Z', marked)])?.metadata.name, 'a');
  const beta = sc('old', '2026-01-01T00:00:00Z', 'storageclass.beta.kubernetes.io/is-default-class');
  t.equal(defaultClass([beta])?.metadata.name, 'old', 'the beta annotation counts too');
});

t.test("a node's local-path folder", async (t) => {
  // Only the fields this reads; others' are beside the point.
  const base = {
    dataDir: '/var/lib/skiff',
    nodeName: 'n1',
    pauseImage: 'p',
    cniBridge: 'cni0',
    nodeLabels: [] as string[],
    nodeTaints: [] as string[],
    privateRegistry: '/nonexistent/registries.yaml',
    kubeletArgs: [] as string[],
  } as NodeConfig;
  t.equal(nodeAgentSettings(base).localStoragePath, '/var/lib/skiff/storage');
  t.equal(nodeAgentSettings({ ...base, defaultLocalStoragePath: '/srv/volumes' }).localStoragePath, '/srv/volumes');
});
