// Safe joins and what a joined node may do, through the real kubectl and real `skiff agent`s (hollow,
// so without containers: the credentials, the join and the API are the real ones): a node's
// certificate issued through a CertificateSigningRequest, the Node authorizer and NodeRestriction
// applied to it, the node password, --agent-token and bootstrap tokens, certificate renewal.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { kubeconfigYaml } from '../../src/pki/kubeconfig.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { podWhen } from '../helpers/pods.js';
import { runSkiff, spawnTs, waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

interface Agent {
  child: ChildProcess;
  dataDir: string;
  /** Everything it printed so far. */
  log(): string;
}

function agent(t: Test, c: Cluster, token: string, node: string, dataDir = tempDir(t)): Agent {
  const child = spawnTs('src/cli/main.ts', [
    ...['agent', '--hollow', '--server', c.url, '--token', token, '--node-name', node],
    ...['--data-dir', dataDir, '--config', '/dev/null'],
  ]);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  t.teardown(() => child.kill('SIGKILL'));
  return { child, dataDir, log: () => output };
}

const serverToken = (c: Cluster) => fs.readFileSync(path.join(c.dataDir, 'server', 'token'), 'utf8').trim();

/** A kubeconfig with the agent's own credentials, as a thief of its data dir would have them. */
function nodeKubeconfig(t: Test, c: Cluster, a: Agent): string {
  const dir = path.join(a.dataDir, 'agent');
  const file = path.join(tempDir(t), 'node.yaml');
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  fs.writeFileSync(
    file,
    kubeconfigYaml({ server: c.url, caPem: read('server-ca.crt'), certPem: read('client-node.crt'), keyPem: read('client-node.key') }),
  );
  return file;
}

const asNode = (c: Cluster, kubeconfig: string, ...args: string[]) => c.kubectl(['--kubeconfig', kubeconfig, ...args]);

t.test('a joined node: its certificate through a CSR, the Node authorizer and NodeRestriction, its name', async (t) => {
  const c = await startCluster(t);
  const a = agent(t, c, serverToken(c), 'joined');
  await waitForLine(a.child, /skiff agent ready/);

  // The certificate came through a CertificateSigningRequest, approved and issued.
  const csrs = await c.k('get', 'csr');
  t.match(csrs, /^NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION$/m);
  t.match(csrs, /^node-csr-\S+\s+\S+\s+kubernetes\.io\/kube-apiserver-client-kubelet\s+server\s+<none>\s+Approved,Issued$/m);
  const csr = JSON.parse(await c.k('get', 'csr', '-o', 'json')).items.find((i: any) => i.metadata.name.startsWith('node-csr-'));
  t.match(csr.status.conditions[0], {
    type: 'Approved',
    reason: 'AutoApproved',
    message: 'Auto approving kubelet client certificate after SubjectAccessReview.',
  });
  t.same(csr.spec.groups.sort(), ['skiff:server', 'system:authenticated', 'system:bootstrappers'].sort());

  const kc = nodeKubeconfig(t, c, a);
  // Secrets: its own pods' only.
  await c.k('create', 'secret', 'generic', 'mine', '--from-literal=k=v');
  await c.k('create', 'secret', 'generic', 'theirs', '--from-literal=k=v');
  const podOn = (name: string, node: string, secret: string) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 's', secret: { secretName: secret } }] },
    });
  t.equal((await c.kubectl(['create', '-f', '-'], { input: podOn('own', 'joined', 'mine') })).code, 0);
  t.equal((await c.kubectl(['create', '-f', '-'], { input: podOn('other', 'elsewhere', 'theirs') })).code, 0);
  t.equal((await asNode(c, kc, 'get', 'secret', 'mine', '-o', 'name')).stdout.trim(), 'secret/mine', "its own pod's Secret");
  const refused = await asNode(c, kc, 'get', 'secret', 'theirs');
  t.not(refused.code, 0);
  t.match(
    refused.stderr,
    'secrets "theirs" is forbidden: User "system:node:joined" cannot get resource "secrets" in API group "" in the namespace "default": ' +
      "no relationship found between node 'joined' and this object",
  );
  t.match((await asNode(c, kc, 'get', 'secrets')).stderr, /cannot list resource "secrets"/, 'no listing Secrets');
  t.match((await asNode(c, kc, 'delete', 'pod', 'other')).stderr, /cannot delete resource "pods"/, "no deleting another node's pod");
  t.match((await asNode(c, kc, 'get', 'deployments')).stderr, /forbidden/, 'nothing beyond what a node needs');

  // Labels: never another node's; its own only as a kubelet may.
  const other = agent(t, c, serverToken(c), 'neighbour');
  await waitForLine(other.child, /skiff agent ready/);
  const foreign = await asNode(c, kc, 'label', 'node', 'neighbour', 'owner=joined');
  t.match(foreign.stderr, /nodes "neighbour" is forbidden: .*node "joined" is not allowed to modify node "neighbour"/);
  const role = await asNode(c, kc, 'label', 'node', 'joined', 'node-role.kubernetes.io/worker=true');
  t.match(role.stderr, /nodes "joined" is forbidden: is not allowed to modify labels: node-role.kubernetes.io\/worker/);
  const restriction = await asNode(c, kc, 'label', 'node', 'joined', 'node-restriction.kubernetes.io/trusted=yes');
  t.match(restriction.stderr, /is not allowed to modify labels: node-restriction.kubernetes.io\/trusted/);
  t.equal((await asNode(c, kc, 'label', 'node', 'joined', 'rack=3')).code, 0, 'a plain label on itself is fine');
  t.equal((await asNode(c, kc, 'label', 'node', 'joined', 'topology.kubernetes.io/zone=hall-a')).code, 0, 'and a kubelet label');
  t.equal((await c.kubectl(['label', 'node', 'neighbour', 'node-role.kubernetes.io/worker=true'])).code, 0, 'the admin may');

  // The name is taken: another machine (another data dir, another password) is refused, clearly.
  const impostor = agent(t, c, serverToken(c), 'joined');
  t.match(
    await waitForLine(impostor.child, /cannot join/),
    new RegExp(
      'refused node \\\\"joined\\\\": Node password rejected, duplicate hostname .*' +
        'kube-system/joined\\.node-password\\.skiff.*another machine holds the name \\\\"joined\\\\"',
    ),
  );
  t.equal(
    (await c.kubectl(['get', 'secret', '-n', 'kube-system', 'joined.node-password.skiff', '-o', 'jsonpath={.type}'])).stdout,
    'skiff.io/node-password',
  );
  // The first machine comes back with its own password, and is let in.
  a.child.kill('SIGTERM');
  await new Promise((r) => a.child.once('exit', r));
  fs.rmSync(path.join(a.dataDir, 'agent', 'client-node.crt'));
  const again = agent(t, c, serverToken(c), 'joined', a.dataDir);
  await waitForLine(again.child, /skiff agent ready/);
  // Deleting the Node frees the name (its password record goes with it).
  impostor.child.kill('SIGKILL');
  again.child.kill('SIGKILL');
  await c.k('delete', 'node', 'joined');
  await eventually(async () => (await c.kubectl(['get', 'secret', '-n', 'kube-system', 'joined.node-password.skiff'])).code !== 0, {
    what: 'the node password record to go with its Node',
  });
  const newcomer = agent(t, c, serverToken(c), 'joined');
  await waitForLine(newcomer.child, /skiff agent ready/);
});

t.test('--agent-token and bootstrap tokens: joining while valid, refused after', async (t) => {
  const c = await startCluster(t, ['--agent-token', 'only-for-agents']);
  const agentToken = fs.readFileSync(path.join(c.dataDir, 'server', 'agent-token'), 'utf8').trim();
  t.match(agentToken, /^K10[0-9a-f]{64}::node:only-for-agents$/);
  const withAgentToken = agent(t, c, agentToken, 'by-agent-token');
  await waitForLine(withAgentToken.child, /skiff agent ready/);
  t.match(await c.k('get', 'csr'), /kubernetes\.io\/kube-apiserver-client-kubelet\s+node\s+<none>\s+Approved,Issued/);

  const skiff = (...args: string[]) => runSkiff([...args, '--kubeconfig', c.kubeconfig]);
  const created = await skiff('token', 'create', '--description', 'for the e2e test');
  t.equal(created.code, 0, created.stderr);
  const bootstrap = created.stdout.trim();
  t.match(bootstrap, /^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/);
  const id = bootstrap.slice(-23, -17);
  const listed = await skiff('token', 'list');
  t.match(listed.stdout, /^TOKEN\s+TTL\s+EXPIRES\s+USAGES\s+DESCRIPTION\s+EXTRA GROUPS$/m);
  t.match(
    listed.stdout,
    new RegExp(
      `^${id}\\s+23h\\s+\\S+Z\\s+signing,authentication\\s+for the e2e test\\s+system:bootstrappers:skiff:default-node-token$`,
      'm',
    ),
  );
  const withBootstrap = agent(t, c, bootstrap, 'by-bootstrap-token');
  await waitForLine(withBootstrap.child, /skiff agent ready/);
  t.match(await c.k('get', 'csr'), new RegExp(`system:bootstrap:${id}\\s+<none>\\s+Approved,Issued`));
  t.equal((await skiff('token', 'create', bootstrap.split('::')[1]!)).stderr.trim(), `skiff: a token with id "${id}" already exists`);
  t.equal((await skiff('token', 'create', 'not-a-token')).code, 2);

  // Deleted: refused.
  const deleted = await skiff('token', 'delete', id);
  t.equal(deleted.stdout.trim(), `bootstrap token "${id}" deleted`);
  const late = agent(t, c, bootstrap, 'too-late');
  t.match(await waitForLine(late.child, /cannot join/), /refused the join token/);

  // Expired: refused, and cleaned up by the token cleaner.
  const short = await skiff('token', 'create', '--ttl', '3s');
  const shortId = short.stdout.trim().slice(-23, -17);
  await eventually(async () => (await c.kubectl(['get', 'secret', '-n', 'kube-system', `bootstrap-token-${shortId}`])).code !== 0, {
    what: 'the expired bootstrap token to be deleted',
    timeout: 30_000,
  });
  const expired = agent(t, c, short.stdout.trim(), 'expired');
  t.match(await waitForLine(expired.child, /cannot join/), /refused the join token/);
  t.equal((await c.kubectl(['get', 'node', 'too-late'])).code, 1);
  t.equal((await c.kubectl(['get', 'node', 'expired'])).code, 1);
});

t.test('the node certificate is renewed through a CSR before it expires, and the node carries on', async (t) => {
  const c = await startCluster(t, ['--kube-controller-manager-arg', 'cluster-signing-duration=20s']);
  const a = agent(t, c, serverToken(c), 'renewing');
  await waitForLine(a.child, /skiff agent ready/);
  const first = fs.readFileSync(path.join(a.dataDir, 'agent', 'client-node.crt'), 'utf8');
  // Two renewals: the second one was asked for with the first renewed certificate.
  const renewals = await eventually(
    async () => {
      const items = JSON.parse(await c.k('get', 'csr', '-o', 'json')).items.filter((i: any) => i.spec.username === 'system:node:renewing');
      return items.filter((i: any) => i.status?.certificate).length >= 2 ? items : undefined;
    },
    { what: 'two renewals of the node certificate', timeout: 90_000, explain: async () => c.k('get', 'csr') },
  );
  t.match(renewals[0].status.conditions[0], {
    reason: 'AutoApproved',
    message: 'Auto approving self kubelet client certificate after SubjectAccessReview.',
  });
  t.not(fs.readFileSync(path.join(a.dataDir, 'agent', 'client-node.crt'), 'utf8'), first, 'the new certificate is kept');
  // Long after the first certificate expired, the node still renews its Lease and runs pods.
  await c.k('run', 'after-renewal', '--image=busybox');
  await podWhen(c, 'after-renewal', (p) => p.spec.nodeName === 'renewing' && p.status?.phase === 'Running');
  t.match(await c.k('get', 'node', 'renewing'), /renewing\s+Ready/);
  t.match(a.log(), /node certificate renewed/);
});

t.test('kubectl certificate approve and deny; service account tokens bound to a pod die with it', async (t) => {
  const c = await startCluster(t);
  const dir = tempDir(t);
  const key = path.join(dir, 'alice.key');
  const { execFileSync } = await import('node:child_process');
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  const request = (cn: string) => execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${cn}/O=dev`]).toString();
  const csr = (name: string, cn: string) =>
    JSON.stringify({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name },
      spec: {
        request: Buffer.from(request(cn)).toString('base64'),
        signerName: 'kubernetes.io/kube-apiserver-client',
        usages: ['client auth'],
        expirationSeconds: 3600,
      },
    });
  await c.kubectl(['create', '-f', '-'], { input: csr('alice', 'alice') });
  await c.kubectl(['create', '-f', '-'], { input: csr('mallory', 'mallory') });
  t.match(await c.k('get', 'csr', 'alice'), /^alice\s+\S+\s+kubernetes\.io\/kube-apiserver-client\s+system:admin\s+60m\s+Pending$/m);
  t.match(await c.k('certificate', 'approve', 'alice'), /certificatesigningrequest.certificates.k8s.io\/alice approved/);
  t.match(await c.k('certificate', 'deny', 'mallory'), /certificatesigningrequest.certificates.k8s.io\/mallory denied/);
  const issued = await eventually(async () => (await c.k('get', 'csr', 'alice', '-o', 'jsonpath={.status.certificate}')) || undefined, {
    what: "alice's certificate",
  });
  t.match(await c.k('get', 'csr'), /alice\s+.*Approved,Issued[\s\S]*mallory\s+.*Denied/);
  t.match((await c.kubectl(['certificate', 'approve', 'mallory'])).stderr, /certificate signing request "mallory" is already Denied/);
  // The server keeps a verdict too: an approval PUT over the denial is refused.
  const mallory = JSON.parse(await c.k('get', 'csr', 'mallory', '-o', 'json'));
  mallory.status.conditions.push({ type: 'Approved', status: 'True', reason: 'Sneaky' });
  const both = await c.kubectl(
    ['replace', '--raw', '/apis/certificates.k8s.io/v1/certificatesigningrequests/mallory/approval', '-f', '-'],
    {
      input: JSON.stringify(mallory),
    },
  );
  t.match(both.stderr, /Approved and Denied conditions are mutually exclusive/);
  // The issued certificate authenticates alice.
  const kc = path.join(dir, 'alice.yaml');
  const caPem = Buffer.from(
    JSON.parse(await c.k('config', 'view', '--raw', '-o', 'json')).clusters[0].cluster['certificate-authority-data'],
    'base64',
  ).toString();
  fs.writeFileSync(
    kc,
    kubeconfigYaml({ server: c.url, caPem, certPem: Buffer.from(issued, 'base64').toString(), keyPem: fs.readFileSync(key, 'utf8') }),
  );
  t.match((await c.kubectl(['--kubeconfig', kc, 'auth', 'whoami'])).stdout, /alice/);

  // A token bound to a pod authenticates while the pod lives.
  await c.kubectl(['create', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'holder' },
      spec: { nodeName: 'nowhere', containers: [{ name: 'c', image: 'busybox' }] },
    }),
  });
  const token = (await c.k('create', 'token', 'default', '--bound-object-kind', 'Pod', '--bound-object-name', 'holder')).trim();
  const withToken = () =>
    c.kubectl(['--token', token, '--kubeconfig', '/dev/null', '--server', c.url, '--insecure-skip-tls-verify', 'get', '--raw', '/apis']);
  t.equal((await withToken()).code, 0, 'valid while the pod exists');
  await c.k('delete', 'pod', 'holder', '--grace-period=0', '--force');
  const after = await withToken();
  t.not(after.code, 0);
  t.match(after.stderr, /Unauthorized/, 'dead with its pod');

  // Legacy tokens only where asked for: none for a new service account; one in a Secret that asks.
  await c.k('create', 'serviceaccount', 'robot');
  await c.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'robot-token', annotations: { 'kubernetes.io/service-account.name': 'robot' } },
      type: 'kubernetes.io/service-account-token',
    }),
  });
  const legacy = await eventually(async () => (await c.k('get', 'secret', 'robot-token', '-o', 'jsonpath={.data.token}')) || undefined, {
    what: 'the token controller to fill the Secret',
  });
  const types = (await c.k('get', 'secrets', '-o', 'jsonpath={.items[*].type}')).split(' ');
  t.equal(types.filter((x) => x === 'kubernetes.io/service-account-token').length, 1, 'no token Secret made on its own');
  const legacyToken = Buffer.from(legacy, 'base64').toString();
  const asRobot = () =>
    c.kubectl(['--token', legacyToken, '--kubeconfig', '/dev/null', '--server', c.url, '--insecure-skip-tls-verify', 'auth', 'whoami']);
  t.match((await asRobot()).stdout, /system:serviceaccount:default:robot/);
  await c.k('delete', 'secret', 'robot-token');
  t.match((await asRobot()).stderr, /Unauthorized/, 'dead with its Secret');
});

t.test('skiff certificate rotate: new certificates from the same CAs, served after the restart', async (t) => {
  const c = await startCluster(t);
  const a = agent(t, c, serverToken(c), 'steady');
  await waitForLine(a.child, /skiff agent ready/);
  const serving = () => fs.readFileSync(path.join(c.dataDir, 'server', 'tls', 'serving-kube-apiserver.crt'), 'utf8');
  const before = serving();
  const ca = fs.readFileSync(path.join(c.dataDir, 'server', 'tls', 'server-ca.crt'), 'utf8');
  t.equal((await runSkiff(['certificate', 'rotate', '--data-dir', c.dataDir])).code, 2, 'refused while the server runs');
  await c.stop();
  const rotated = await runSkiff(['certificate', 'rotate', '--data-dir', c.dataDir, '--config', '/dev/null']);
  t.equal(rotated.code, 0, rotated.stderr);
  t.match(
    rotated.stdout,
    new RegExp(
      'Rotating certificates for admin service\nRotating certificates for api-server service\n' +
        'Successfully backed up certificates for all services to path .*tls-\\d+, please restart skiff server to rotate certificates',
    ),
  );
  await c.restart();
  t.not(serving(), before, 'a new serving certificate');
  t.equal(fs.readFileSync(path.join(c.dataDir, 'server', 'tls', 'server-ca.crt'), 'utf8'), ca, 'the same CA');
  // What the server presents is the new one; kubectl (new admin credentials) and the agent work on.
  const { connect } = await import('node:tls');
  const presented = await new Promise<string>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: c.port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()!.toString());
      s.end();
    });
    s.on('error', reject);
  });
  const { X509Certificate } = await import('node:crypto');
  t.equal(new X509Certificate(presented).serialNumber, new X509Certificate(serving()).serialNumber);
  t.not(new X509Certificate(presented).serialNumber, new X509Certificate(before).serialNumber);
  t.match(await c.k('get', 'node', 'steady'), /steady\s+Ready/);
});
