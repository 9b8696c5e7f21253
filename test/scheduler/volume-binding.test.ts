// The scheduler's volume filter: bound claims hold a pod to their volume's nodes, unbound Immediate
// claims keep it waiting, WaitForFirstConsumer claims take a volume that fits the node or a provisioner.
import t from 'tap';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { Writable } from '../../src/client/resources.js';
import { filterVolumes, NO_VOLUME, NODE_CONFLICT, UNBOUND_IMMEDIATE, type VolumeView } from '../../src/scheduler/volume-binding.js';

type PV = Writable<PersistentVolume>;
type PVC = Writable<PersistentVolumeClaim>;

const node = (name: string): Writable<Node> => ({ metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
const onNode = (n: string) => ({
  required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [n] }] }] },
});
const pod = (...claims: string[]): Writable<Pod> => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [], volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })) },
});
const claim = (name: string, spec: PVC['spec'], annotations?: Record<string, string>): PVC => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}`, annotations },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
});
const volume = (name: string, spec: PV['spec']): PV => ({
  metadata: { name },
  spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/x' }, ...spec },
  status: { phase: 'Available' },
});
const classes: Record<string, Writable<StorageClass>> = {
  wait: { metadata: { name: 'wait' }, provisioner: 'skiff.io/local-path', volumeBindingMode: 'WaitForFirstConsumer' },
  static: { metadata: { name: 'static' }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer' },
  now: { metadata: { name: 'now' }, provisioner: 'example.com/x', volumeBindingMode: 'Immediate' },
};
const view = (claims: PVC[], volumes: PV[]): VolumeView => ({
  claim: (_ns, name) => claims.find((c) => c.metadata?.name === name),
  volume: (name) => volumes.find((v) => v.metadata?.name === name),
  volumes: () => volumes,
  storageClass: (name) => classes[name],
});

t.test('bound claims: the volume node affinity', async (t) => {
  const v = view(
    [claim('a', { volumeName: 'pv-a' }), claim('b', { volumeName: 'pv-b' })],
    [volume('pv-a', { nodeAffinity: onNode('n1') }), volume('pv-b', {})],
  );
  t.equal(filterVolumes(v, pod('a', 'b'), node('n1')), undefined);
  t.same(filterVolumes(v, pod('a'), node('n2')), [NODE_CONFLICT]);
  t.equal(filterVolumes(v, pod('b'), node('n2')), undefined, 'no node affinity: anywhere');
  t.equal(filterVolumes(v, pod(), node('n2')), undefined, 'no claims');
  t.same(filterVolumes(v, pod('missing'), node('n1')), ['persistentvolumeclaim "missing" not found']);
});

t.test('unbound claims', async (t) => {
  const v = view(
    [
      claim('now', { storageClassName: 'now' }),
      claim('wait', { storageClassName: 'wait' }),
      claim('chosen', { storageClassName: 'wait' }, { 'volume.kubernetes.io/selected-node': 'n1' }),
      claim('static', { storageClassName: 'static' }),
    ],
    [volume('local-n1', { storageClassName: 'static', nodeAffinity: onNode('n1') })],
  );
  t.same(filterVolumes(v, pod('now'), node('n1')), [UNBOUND_IMMEDIATE], 'an Immediate class binds first');
  t.equal(filterVolumes(v, pod('wait'), node('n2')), undefined, 'a provisioner makes one anywhere');
  t.equal(filterVolumes(v, pod('chosen'), node('n1')), undefined);
  t.same(filterVolumes(v, pod('chosen'), node('n2')), [NODE_CONFLICT], 'a node chosen before is the only one');
  t.equal(filterVolumes(v, pod('static'), node('n1')), undefined, 'a static volume that fits the node');
  t.same(filterVolumes(v, pod('static'), node('n2')), [NO_VOLUME], 'none on this node and no provisioner');
});
