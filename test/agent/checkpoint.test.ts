// The agent's checkpoint: pods and what they use kept on disk, Secrets and tokens sealed with the node
// key, a file written only when what the agent reads of it changes, and what no kept pod uses removed.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Checkpoint, podReferences } from '../../src/agent/pods/checkpoint.js';
import { NodeKey } from '../../src/agent/pods/node-key.js';
import type { P } from '../../src/agent/pods/labels.js';
import { tempDir } from '../helpers/tmp.js';

const PASSWORD = 'correct horse battery staple';

const pod = (uid: string, resourceVersion = '1', phase = 'Running'): P => ({
  metadata: { name: `p-${uid}`, namespace: 'shop', uid, resourceVersion, managedFields: [{ manager: 'kubectl' }] },
  spec: {
    containers: [
      {
        name: 'app',
        image: 'busybox',
        env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
        envFrom: [{ configMapRef: { name: 'settings' } }],
      },
    ],
    volumes: [
      { name: 'cfg', configMap: { name: 'files' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'p', projected: { sources: [{ secret: { name: 'tls' } }] } },
    ],
  },
  status: { phase, startTime: '2026-01-01T00:00:00Z', podIP: `10.0.0.${resourceVersion}` },
});

const files = (dir: string): string[] =>
  fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name)
    : [];

t.test('podReferences: volumes, projected sources, env and envFrom', async (t) => {
  const refs = podReferences(pod('a'));
  t.same([...refs.configmaps].sort(), ['shop/files', 'shop/settings']);
  t.same([...refs.secrets].sort(), ['shop/db', 'shop/tls']);
  t.same([...refs.claims], ['shop/data']);
});

t.test('pods and what they use survive a restart; Secrets and tokens are sealed; nothing is rewritten for nothing', async (t) => {
  const agentDir = tempDir(t);
  const cp = new Checkpoint(agentDir);
  cp.savePod(pod('a'));
  const secret = { metadata: { name: 'db', namespace: 'shop', resourceVersion: '5' }, type: 'Opaque', data: { password: btoa(PASSWORD) } };
  cp.keepObject('secrets', 'shop', 'db', secret);
  cp.keepObject('configmaps', 'shop', 'files', { metadata: { name: 'files', namespace: 'shop' }, data: { greeting: 'hello' } });
  cp.keepObject('configmaps', 'shop', 'unused', { metadata: { name: 'unused', namespace: 'shop' }, data: { x: 'y' } });
  cp.keepObject('claims', 'shop', 'data', { metadata: { name: 'data', namespace: 'shop' }, spec: { volumeName: 'pv-1' } });
  cp.keepObject('volumes', undefined, 'pv-1', { metadata: { name: 'pv-1' }, spec: { hostPath: { path: '/srv/pv-1' } } });
  cp.keepToken('a', 'kube-api-access/token', { token: 'eyJ.secret-token', expirationTimestamp: '2027-01-01T00:00:00Z' });
  cp.keepServices((ns) => [{ metadata: { name: `svc-${ns}`, namespace: ns }, spec: { clusterIP: '10.43.0.9', ports: [{ port: 80 }] } }]);
  const written = cp.writes;
  t.equal(written, 8, 'the pod, secret, configmap, claim, volume, token and two namespaces of services (not the unused ConfigMap)');

  // The same again, and a pod whose status and resourceVersion changed: no write.
  cp.savePod(pod('a', '2'));
  cp.keepObject('secrets', 'shop', 'db', { ...secret, metadata: { ...secret.metadata, resourceVersion: '6' } });
  cp.keepToken('a', 'kube-api-access/token', { token: 'eyJ.secret-token', expirationTimestamp: '2027-01-01T00:00:00Z' });
  t.equal(cp.writes, written, 'nothing the agent reads changed: nothing written');
  await cp.flushed();

  const all = fs.readdirSync(agentDir, { recursive: true }).map(String);
  for (const file of all) {
    const p = path.join(agentDir, file);
    if (fs.statSync(p).isFile()) t.notOk(fs.readFileSync(p).includes(PASSWORD), `${file} has no Secret in plain text`);
    if (fs.statSync(p).isFile()) t.notOk(fs.readFileSync(p).includes('secret-token'), `${file} has no token in plain text`);
  }
  t.equal(fs.statSync(path.join(agentDir, 'node-key')).mode & 0o777, 0o600, 'the node key is for root only');

  const again = new Checkpoint(agentDir);
  const [kept] = again.pods();
  t.equal(kept?.metadata?.uid, 'a');
  t.same(kept?.status, { startTime: '2026-01-01T00:00:00Z' }, 'of the status only the start time');
  t.notOk(kept?.metadata?.resourceVersion);
  t.same(again.object('secrets', 'shop', 'db'), {
    metadata: { name: 'db', namespace: 'shop' },
    type: 'Opaque',
    data: { password: btoa(PASSWORD) },
  });
  t.same(again.object('configmaps', 'shop', 'files')?.metadata, { name: 'files', namespace: 'shop' });
  t.equal(again.token('a', 'kube-api-access/token')?.token, 'eyJ.secret-token');
  t.same(again.services('shop'), [
    { metadata: { name: 'svc-shop', namespace: 'shop' }, spec: { clusterIP: '10.43.0.9', ports: [{ port: 80 }] } },
  ]);
  t.equal(again.writes, 0, 'reading writes nothing');

  // A sealed file copied over another's name does not open.
  const secrets = path.join(agentDir, 'checkpoint', 'secrets');
  fs.copyFileSync(
    path.join(secrets, `${encodeURIComponent('shop/db')}.sealed`),
    path.join(secrets, `${encodeURIComponent('shop/tls')}.sealed`),
  );
  t.notOk(new Checkpoint(agentDir).object('secrets', 'shop', 'tls'), 'a sealed file is bound to its name');
  fs.rmSync(path.join(secrets, `${encodeURIComponent('shop/tls')}.sealed`));

  // A finished pod is forgotten, with all it alone used.
  again.savePod(pod('a', '3', 'Succeeded'));
  t.same(again.pods(), []);
  await again.flushed();
  t.same(files(path.join(agentDir, 'checkpoint')), ['default.json'], "nothing left but default's Services (the API server's variables)");
});

t.test('NodeKey: one key, made once; opening fails for another key', async (t) => {
  const dir = tempDir(t);
  const a = NodeKey.load(path.join(dir, 'k'));
  const sealed = a.seal(Buffer.from('x'), 'n');
  t.equal(NodeKey.load(path.join(dir, 'k')).open(sealed, 'n').toString(), 'x', 'the same key on the next start');
  t.throws(() => NodeKey.load(path.join(dir, 'other')).open(sealed, 'n'), 'another key does not open it');
  sealed[sealed.length - 1]! ^= 1;
  t.throws(() => a.open(sealed, 'n'), 'an altered file does not open');
});
