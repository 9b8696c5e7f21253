// The local-path provisioner in the controller manager, as its own service account: a claim of the
// default class gets it by admission, a volume on its selected node (bound by the binder), a bigger
// volume when it grows, and on deletion a removal asked of the node and the volume gone.
import t, { type Test } from 'tap';
import type { Node, PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport } from '../../src/client/transport.js';
import { events, nodes, persistentVolumeClaims, persistentVolumes, storageClasses, type Writable } from '../../src/client/resources.js';
import { localPathVolume, unsupported } from '../../src/controllers/local-path-provisioner.js';
import { ANN_STORAGE_PATH, LOCAL_PATH_PROVISIONER, REMOVE_PREFIX } from '../../src/k8s/local-path.js';
import { systemServiceAccount } from '../../src/server/control-plane.js';
import { eventually } from '../helpers/eventually.js';
import { withControllers } from './running.js';

type PVC = Writable<PersistentVolumeClaim>;

const localPath = {
  metadata: { name: 'local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  provisioner: LOCAL_PATH_PROVISIONER,
  volumeBindingMode: 'WaitForFirstConsumer',
  reclaimPolicy: 'Delete',
  allowVolumeExpansion: true,
};
const node = (name: string, path?: string): Writable<Node> => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name }, ...(path ? { annotations: { [ANN_STORAGE_PATH]: path } } : {}) },
});

t.test('the volume made for a claim', async (t) => {
  const claim: PVC = {
    metadata: { name: 'data', namespace: 'web', uid: '0a1b' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
  };
  const pv = localPathVolume(claim, localPath, node('n1'), '/var/lib/skiff/storage');
  t.equal(pv.metadata?.name, 'pvc-0a1b');
  t.equal(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'], LOCAL_PATH_PROVISIONER);
  t.same(pv.spec?.hostPath, { path: '/var/lib/skiff/storage/pvc-0a1b_web_data', type: 'DirectoryOrCreate' });
  t.same(pv.spec?.capacity, { storage: '2Gi' });
  t.same(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms, [
    { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] },
  ]);
  t.match(pv.spec?.claimRef, { namespace: 'web', name: 'data', uid: '0a1b' });
  t.equal(pv.spec?.storageClassName, 'local-path');
  t.equal(pv.spec?.persistentVolumeReclaimPolicy, 'Delete');

  t.equal(unsupported(claim), undefined);
  t.match(unsupported({ spec: { accessModes: ['ReadWriteMany'] } }), /ReadWriteMany is not supported/);
  t.match(unsupported({ spec: { volumeMode: 'Block' } }), /Block is not supported/);
});

async function cluster(t: Test) {
  const { api } = await withControllers(t, (h) => ({
    identity: (name) => new ApiClient(inProcessTransport(h.app, systemServiceAccount(name)), name),
  }));
  await api.resource(storageClasses).create(localPath);
  await api.resource(nodes).create(node('n1', '/srv/storage'));
  const claims = api.resource(persistentVolumeClaims);
  const volumes = api.resource(persistentVolumes);
  const claimWhen = (name: string, ok: (c: PVC) => boolean, what: string) =>
    eventually(
      async () => {
        const c = await claims.get('default', name);
        return ok(c) ? c : undefined;
      },
      { what },
    );
  return { api, claims, volumes, claimWhen };
}

t.test('a claim of the default class is provisioned on its selected node, grows, and is removed', async (t) => {
  const c = await cluster(t);
  const created = await c.claims.create({
    metadata: { name: 'data', namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  t.equal(created.spec?.storageClassName, 'local-path', 'the default class, by admission');
  const explicit = await c.claims.create({
    metadata: { name: 'none', namespace: 'default' },
    spec: { storageClassName: '', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  t.equal(explicit.spec?.storageClassName, '', '"" asks for no class and keeps it');

  await eventually(
    async () =>
      (await c.api.resource(events).list('default')).items.find(
        (e) => e.involvedObject.name === 'data' && e.reason === 'WaitForFirstConsumer',
      ),
    { what: 'the claim waiting for its first consumer' },
  );
  t.same((await c.volumes.list(undefined)).items, [], 'nothing provisioned before a node is chosen');

  // What the scheduler does once it places the claim's pod.
  await c.claims.patch('default', 'data', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'n1' } } });
  const bound = await c.claimWhen('data', (x) => x.status?.phase === 'Bound', 'the claim Bound');
  const pvName = `pvc-${created.metadata!.uid}`;
  t.equal(bound.spec?.volumeName, pvName);
  t.same(bound.status?.capacity, { storage: '1Gi' });
  const pv = await c.volumes.get(undefined, pvName);
  t.equal(pv.spec?.hostPath?.path, `/srv/storage/pvc-${created.metadata!.uid}_default_data`, "in the node's own storage path");

  await c.claims.patch('default', 'data', { spec: { resources: { requests: { storage: '3Gi' } } } });
  const grown = await c.claimWhen('data', (x) => x.status?.capacity?.storage === '3Gi', 'the claim grown');
  t.equal(grown.status?.phase, 'Bound');
  t.same((await c.volumes.get(undefined, pvName)).spec?.capacity, { storage: '3Gi' }, 'and its volume');

  await c.claims.delete('default', 'data');
  await eventually(
    async () => {
      const names = (await c.volumes.list(undefined)).items.map((v: Writable<PersistentVolume>) => v.metadata?.name);
      return names.includes(pvName) ? undefined : true;
    },
    { what: 'the volume deleted' },
  );
  const n1 = await c.api.resource(nodes).get(undefined, 'n1');
  t.equal(n1.metadata?.annotations?.[REMOVE_PREFIX + pvName], `pvc-${created.metadata!.uid}_default_data`, 'the node asked to remove it');
});

t.test('a node without local-path storage gets nothing provisioned', async (t) => {
  const c = await cluster(t);
  await c.api.resource(nodes).create(node('bare'));
  await c.claims.create({
    metadata: { name: 'data', namespace: 'default', annotations: { 'volume.kubernetes.io/selected-node': 'bare' } },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  const failed = await eventually(
    async () =>
      (await c.api.resource(events).list('default')).items.find(
        (e) => e.involvedObject.name === 'data' && e.reason === 'ProvisioningFailed',
      ),
    { what: 'a ProvisioningFailed event' },
  );
  t.match(failed.message, /node "bare" has no local-path storage/);
  t.same((await c.volumes.list(undefined)).items, []);
});
