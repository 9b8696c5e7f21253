// Local-path storage on a real node: the default StorageClass, a claim provisioned where its first
// pod goes, data kept for the next pod and across a StatefulSet pod's restart, a claim grown, and
// the volume's directory and object gone with the claim; --disable local-storage leaves no trace.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';

const apply = async (c: Cluster, obj: unknown) => {
  const r = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
};
const running = (p: any) => p.status?.phase === 'Running';
const claim = (name: string) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
});
const pod = (name: string, claimName: string, script: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'main', image: BUSYBOX, command: ['sh', '-c', script], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
  },
});
const jsonpath = (c: Cluster, what: string[], expr: string) => c.k('get', ...what, '-o', `jsonpath=${expr}`);

t.test('local-path volumes on a real node', async (t) => {
  const c = await startCluster(t, [], { agent: true });
  const storage = path.join(c.dataDir, 'storage');
  const sc = await eventually(async () => (await c.kubectl(['get', 'storageclass'])).stdout || undefined, { what: 'the StorageClass' });
  t.match(sc, /local-path \(default\)\s+skiff\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+true/);

  await t.test('a claim is provisioned for its first pod and outlives it', async (t) => {
    await apply(c, claim('data'));
    t.equal(
      await jsonpath(c, ['pvc', 'data'], '{.spec.storageClassName} {.status.phase}'),
      'local-path Pending',
      'the default class, waiting',
    );
    await apply(c, pod('writer', 'data', 'echo hello > /data/greeting; exec sleep 3600'));
    await podWhen(c, 'writer', running);
    const nodeName = await jsonpath(c, ['pod', 'writer'], '{.spec.nodeName}');
    t.equal(await jsonpath(c, ['pvc', 'data'], "{.metadata.annotations['volume\\.kubernetes\\.io/selected-node']}"), nodeName);
    const uid = await jsonpath(c, ['pvc', 'data'], '{.metadata.uid}');
    t.equal(await jsonpath(c, ['pvc', 'data'], '{.status.phase} {.spec.volumeName}'), `Bound pvc-${uid}`);
    const dir = path.join(storage, `pvc-${uid}_default_data`);
    t.equal(await jsonpath(c, ['pv', `pvc-${uid}`], '{.spec.hostPath.path}'), dir);
    t.equal(
      await jsonpath(c, ['pv', `pvc-${uid}`], '{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}'),
      nodeName,
    );
    await eventually(() => fs.existsSync(path.join(dir, 'greeting')) || undefined, { what: 'the file on the node' });
    t.equal(fs.readFileSync(path.join(dir, 'greeting'), 'utf8'), 'hello\n');

    await c.k('delete', 'pod', 'writer');
    await apply(c, pod('reader', 'data', 'cat /data/greeting; exec sleep 3600'));
    await podWhen(c, 'reader', running);
    t.equal(await eventually(async () => (await c.k('logs', 'reader')) || undefined), 'hello\n', 'the next pod reads it');

    await c.k('patch', 'pvc', 'data', '-p', '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}');
    await eventually(async () => (await jsonpath(c, ['pvc', 'data'], '{.status.capacity.storage}')) === '2Gi' || undefined, {
      what: 'the claim grown',
    });
    t.equal(await jsonpath(c, ['pv', `pvc-${uid}`], '{.spec.capacity.storage}'), '2Gi', 'and its volume');

    await c.k('delete', 'pod', 'reader');
    await c.k('delete', 'pvc', 'data');
    await eventually(async () => (await c.kubectl(['get', 'pv', `pvc-${uid}`])).code !== 0 || undefined, { what: 'the volume deleted' });
    await eventually(() => !fs.existsSync(dir) || undefined, { what: 'its directory removed' });
  });

  await t.test('a StatefulSet gets volumes that survive its pod', async (t) => {
    await apply(c, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'db', image: BUSYBOX, command: ['sleep', '3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          },
        },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    });
    const first = await podWhen(c, 'db-0', running);
    t.equal(await jsonpath(c, ['pvc', 'data-db-0'], '{.status.phase}'), 'Bound');
    await c.k('exec', 'db-0', '--', 'sh', '-c', 'echo kept > /data/marker');
    await c.k('delete', 'pod', 'db-0');
    await podWhen(c, 'db-0', (p) => running(p) && p.metadata.uid !== first.metadata.uid);
    t.equal(await c.k('exec', 'db-0', '--', 'cat', '/data/marker'), 'kept\n', 'the new db-0 has the data');

    const uid = await jsonpath(c, ['pvc', 'data-db-0'], '{.metadata.uid}');
    await c.k('delete', 'statefulset', 'db');
    await eventually(async () => (await c.k('get', 'pods', '-o', 'name')).trim() === '' || undefined, { what: 'the pods gone' });
    await c.k('delete', 'pvc', 'data-db-0');
    await eventually(async () => (await c.k('get', 'pv', '-o', 'name')).trim() === '' || undefined, { what: 'no volumes left' });
    await eventually(() => !fs.existsSync(path.join(storage, `pvc-${uid}_default_data-db-0`)) || undefined, { what: 'no directory left' });
  });
});

t.test('--disable local-storage leaves no StorageClass and provisions nothing', async (t) => {
  const c = await startCluster(t);
  await eventually(async () => (await c.kubectl(['get', 'storageclass', 'local-path'])).code === 0 || undefined, {
    what: 'the StorageClass of a first start',
  });
  // The next start with local-storage disabled (the environment is what the server reads besides flags).
  process.env.SKIFF_DISABLE = 'local-storage';
  t.teardown(() => {
    delete process.env.SKIFF_DISABLE;
  });
  await c.restart('SIGTERM');
  await eventually(async () => (await c.k('get', 'storageclass', '-o', 'name')).trim() === '' || undefined, {
    what: 'the StorageClass removed',
  });
  t.notOk(fs.existsSync(path.join(c.dataDir, 'server', 'manifests', 'local-storage.yaml')), 'nor its manifest');
  await apply(c, claim('data'));
  t.equal(await jsonpath(c, ['pvc', 'data'], '{.spec.storageClassName}'), '', 'no default class for a claim');
  t.equal((await c.k('get', 'pv', '-o', 'name')).trim(), '', 'and no volume');
});
