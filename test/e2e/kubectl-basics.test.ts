import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { startCluster } from '../helpers/cluster.js';

t.test('discovery, info and namespaces through the real kubectl', async (t) => {
  const c = await startCluster(t);
  const resources = await c.k('api-resources');
  t.match(resources, /^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND/);
  t.match(resources, /\npods\s+po\s+v1\s+true\s+Pod\n/);
  t.match(resources, /\ndeployments\s+deploy\s+apps\/v1\s+true\s+Deployment\n/);
  t.match(resources, /\nnamespaces\s+ns\s+v1\s+false\s+Namespace\n/);
  const versions = await c.k('api-versions');
  for (const gv of ['v1', 'apps/v1', 'batch/v1', 'rbac.authorization.k8s.io/v1', 'apiextensions.k8s.io/v1'])
    t.match(versions, new RegExp(`^${gv.replace('.', '\\.')}$`, 'm'));
  t.match(await c.k('cluster-info'), /Kubernetes control plane is running at https:\/\/127\.0\.0\.1:\d+/);
  t.match(await c.k('version', '-o', 'json'), /"minor": "32"/);

  t.equal(await c.k('create', 'namespace', 'boats'), 'namespace/boats created\n');
  const ns = await c.k('get', 'namespaces');
  for (const name of ['boats', 'default', 'kube-system', 'kube-public', 'kube-node-lease'])
    t.match(ns, new RegExp(`^${name}\\s+Active\\s+\\d+s$`, 'm'));
  const dup = await c.kubectl(['create', 'namespace', 'boats']);
  t.equal(dup.code, 1);
  t.match(dup.stderr, /Error from server \(AlreadyExists\): namespaces "boats" already exists/);
  const missing = await c.kubectl(['get', 'configmap', 'nope']);
  t.match(missing.stderr, /Error from server \(NotFound\): configmaps "nope" not found/);
});

t.test('auth can-i, whoami, create token', async (t) => {
  const c = await startCluster(t);
  t.equal(await c.k('auth', 'can-i', 'create', 'deployments'), 'yes\n');
  t.match(await c.k('auth', 'can-i', '--list'), /\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/);
  t.match(await c.k('auth', 'whoami'), /Username\s+system:admin[\s\S]*Groups\s+\[system:masters system:authenticated\]/);
  t.equal(await c.k('create', 'serviceaccount', 'robot'), 'serviceaccount/robot created\n');
  const token = (await c.k('create', 'token', 'robot', '--duration', '15m')).trim();
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  // The token alone, with only the CA to trust the server, is a way in.
  const admin = YAML.parse(fs.readFileSync(c.kubeconfig, 'utf8'));
  const cluster = admin.clusters[0].cluster;
  const asRobot = path.join(c.dataDir, '..', 'robot.yaml');
  fs.writeFileSync(
    asRobot,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'robot',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'robot', user: { token } }],
      contexts: [{ name: 'robot', context: { cluster: 'c', user: 'robot' } }],
    }),
  );
  const whoami = await c.kubectl(['--kubeconfig', asRobot, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
  t.equal(whoami.stdout, 'system:serviceaccount:default:robot', whoami.stderr);
  const forged = await c.kubectl(['--kubeconfig', asRobot, '--token', `${token.slice(0, -4)}AAAA`, 'get', 'pods']);
  t.equal(forged.code, 1);
  t.match(forged.stderr, /Unauthorized/);

  await c.k('delete', 'serviceaccount', 'robot');
  const gone = await c.kubectl(['--kubeconfig', asRobot, 'get', 'pods']);
  t.match(gone.stderr, /Unauthorized/, "a deleted service account's tokens stop working");
  const noSA = await c.kubectl(['create', 'token', 'nobody']);
  t.match(noSA.stderr, /serviceaccounts "nobody" not found/);
});
