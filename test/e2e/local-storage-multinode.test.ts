// Local-path storage across two real nodes (each in a network namespace of the test's own): a claim
// provisioned on the joined agent's disk, in its own --default-local-storage-path, keeps the next pod
// of the claim on that node, and that node removes the directory when the claim goes.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startAgent } from '../helpers/agents.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { createNetLab } from '../helpers/netlab.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';
import { tempDir } from '../helpers/tmp.js';

const apply = async (c: Cluster, obj: unknown) => {
  const r = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
};
const pod = (name: string, script: string, nodeSelector?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: {
    terminationGracePeriodSeconds: 1,
    ...(nodeSelector ? { nodeSelector } : {}),
    containers: [{ name: 'main', image: BUSYBOX, command: ['sh', '-c', script], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
  },
});

t.test("a claim lives on the joined node's own storage path", async (t) => {
  const lab = createNetLab(t, 2);
  const [serverHost, agentHost] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0]];
  const c = await startCluster(t, ['--node-name', 'n0'], { agent: true, host: serverHost });
  const volumes = path.join(tempDir(t, 'skiff-volumes-'), 'volumes');
  await startAgent(t, c, agentHost, { name: 'n1', args: ['--default-local-storage-path', volumes] });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));

  await apply(c, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  await apply(c, pod('writer', 'echo from n1 > /data/note; exec sleep 3600', { 'kubernetes.io/hostname': 'n1' }));
  await podWhen(c, 'writer', (p) => p.status?.phase === 'Running');
  const uid = await c.k('get', 'pvc', 'data', '-o', 'jsonpath={.metadata.uid}');
  const dir = path.join(volumes, `pvc-${uid}_default_data`);
  t.equal(await c.k('get', 'pv', `pvc-${uid}`, '-o', 'jsonpath={.spec.hostPath.path}'), dir, "in n1's --default-local-storage-path");
  await eventually(() => fs.existsSync(path.join(dir, 'note')) || undefined, { what: 'the file on n1' });

  await c.k('delete', 'pod', 'writer');
  // No node selector now: the volume's node affinity is what brings the pod back to n1.
  await apply(c, pod('reader', 'cat /data/note; exec sleep 3600'));
  const reader = await podWhen(c, 'reader', (p) => p.status?.phase === 'Running');
  t.equal(reader.spec.nodeName, 'n1');
  t.equal(await eventually(async () => (await c.k('logs', 'reader')) || undefined), 'from n1\n');

  await c.k('delete', 'pod', 'reader');
  await c.k('delete', 'pvc', 'data');
  await eventually(() => !fs.existsSync(dir) || undefined, { what: 'n1 removed the directory' });
  t.equal((await c.k('get', 'pv', '-o', 'name')).trim(), '', 'and the volume is gone');
});
