// The scheduler and volumes, on hollow nodes through kubectl: a pod follows its bound volume's node
// affinity, a WaitForFirstConsumer claim gets the node its first pod is placed on (and later pods of
// the claim follow it), and a pod of an unbound Immediate claim waits with upstream's reason.
import t from 'tap';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startHollowNode } from '../helpers/hollow.js';

const apply = async (c: Cluster, ...objs: unknown[]) => {
  const r = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }) });
  if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
};
const pod = (name: string, claimName: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] },
});
const claim = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
});
const nodeOf = (c: Cluster, name: string) =>
  eventually(async () => (await c.k('get', 'pod', name, '-o', 'jsonpath={.spec.nodeName}')) || undefined, { what: `${name} placed` });

t.test('pods are placed where their volumes are', async (t) => {
  const c = await startCluster(t);
  for (const name of ['n1', 'n2', 'n3']) await startHollowNode(t, c, { name, labels: { 'kubernetes.io/hostname': name } });

  await apply(
    c,
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'on-n2' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        hostPath: { path: '/tmp/on-n2' },
        nodeAffinity: {
          required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n2'] }] }] },
        },
      },
    },
    claim('pinned', { volumeName: 'on-n2', storageClassName: '' }),
    pod('follows-volume', 'pinned'),
  );
  t.equal(await nodeOf(c, 'follows-volume'), 'n2', "the bound volume's node");

  await apply(c, claim('later', {}), pod('first', 'later'));
  const first = await nodeOf(c, 'first');
  t.equal(
    await c.k('get', 'pvc', 'later', '-o', "jsonpath={.metadata.annotations['volume\\.kubernetes\\.io/selected-node']}"),
    first,
    'the claim of the default (WaitForFirstConsumer) class gets the chosen node',
  );
  await apply(c, pod('second', 'later'));
  t.equal(await nodeOf(c, 'second'), first, 'the next pod of the claim goes there too');

  await apply(
    c,
    { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'now' }, provisioner: 'example.com/none' },
    claim('unbound', { storageClassName: 'now' }),
    pod('waits', 'unbound'),
  );
  const message = await eventually(
    async () => (await c.k('get', 'pod', 'waits', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}')) || undefined,
    { what: 'waits unschedulable' },
  );
  t.equal(message, '0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims.');
  await c.k('delete', 'pods', '--all', '--grace-period=0', '--force');
});
