// Cluster PKI, kubeconfig, join tokens and service account tokens.
import { X509Certificate, createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import YAML from 'yaml';
import { ensureClusterPki, issueClientCertificate } from '../../src/pki/cluster-pki.js';
import { kubeconfigYaml, writeKubeconfig } from '../../src/pki/kubeconfig.js';
import { caHash, ensureJoinToken, parseJoinToken, tokenAccepted } from '../../src/pki/join-token.js';
import { type LookedUp, ServiceAccountTokens } from '../../src/apiserver/service-account-tokens.js';
import { generateKey, keyToPem } from '../../src/pki/certificates.js';
import { tempDir } from '../helpers/tmp.js';

t.test('first start creates the CA, serving and admin certificates; restarts reuse them', async (t) => {
  const dir = tempDir(t);
  const pki = await ensureClusterPki(dir, { sans: ['skiff.example.com', '192.0.2.7'] });
  const ca = new X509Certificate(pki.serverCa.certPem);
  const serving = new X509Certificate(pki.serving.certPem);
  t.ok(serving.checkIssued(ca) && serving.verify(ca.publicKey), 'serving cert signed by the server CA');
  for (const san of [
    'DNS:kubernetes.default.svc',
    'DNS:localhost',
    'IP Address:127.0.0.1',
    'DNS:skiff.example.com',
    'IP Address:192.0.2.7',
  ])
    t.match(serving.subjectAltName, san);
  const admin = new X509Certificate(pki.admin.certPem);
  t.ok(admin.verify(new X509Certificate(pki.clientCa.certPem).publicKey), 'admin cert signed by the client CA');
  t.match(admin.subject, /CN=system:admin/);
  t.match(admin.subject, /O=system:masters/);
  t.equal(fs.statSync(path.join(dir, 'server/tls/server-ca.key')).mode & 0o777, 0o600);

  const again = await ensureClusterPki(dir, { sans: ['skiff.example.com'] });
  t.equal(again.serving.certPem, pki.serving.certPem, 'reused: fewer wanted names need no new cert');
  t.equal(again.serviceAccountKeyPem, pki.serviceAccountKeyPem);
  const grown = await ensureClusterPki(dir, { sans: ['skiff.example.com', 'other.example.com'] });
  t.not(grown.serving.certPem, pki.serving.certPem, 'a new name issues a new serving cert');
  t.equal(grown.serverCa.certPem, pki.serverCa.certPem, 'from the same CA');
  await t.rejects(ensureClusterPki(dir, { sans: ['bad name!'] }), /invalid --tls-san "bad name!"/);
});

t.test('a TLS server with the client CA learns user and groups from the certificate', async (t) => {
  const pki = await ensureClusterPki(tempDir(t), { sans: [] });
  const user = await issueClientCertificate(pki, 'system:node:n1', ['system:nodes']);
  const server = https.createServer(
    { cert: pki.serving.certPem, key: pki.serving.keyPem, ca: pki.clientCa.certPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const subject = socket.getPeerCertificate().subject;
      res.end(JSON.stringify({ authorized: socket.authorized, cn: subject?.CN, o: subject?.O }));
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const get = (cert?: { certPem: string; keyPem: string }) =>
    new Promise<string>((resolve, reject) => {
      https
        .get(
          { host: '127.0.0.1', port, ca: pki.serverCa.certPem, servername: 'localhost', cert: cert?.certPem, key: cert?.keyPem },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve(body));
          },
        )
        .on('error', reject);
    });
  t.same(JSON.parse(await get(user)), { authorized: true, cn: 'system:node:n1', o: 'system:nodes' });
  t.same(JSON.parse(await get(pki.admin)), { authorized: true, cn: 'system:admin', o: 'system:masters' });
  t.equal(JSON.parse(await get()).authorized, false, 'no certificate: not authorized by TLS');
});

t.test('kubeconfig: K3s layout, written whole with the asked mode', async (t) => {
  const file = path.join(tempDir(t), 'etc/skiff/skiff.yaml');
  writeKubeconfig(file, 0o600, { server: 'https://127.0.0.1:6443', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY' });
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  const kc = YAML.parse(fs.readFileSync(file, 'utf8'));
  t.match(kc, {
    'current-context': 'default',
    clusters: [
      {
        name: 'default',
        cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': Buffer.from('CA').toString('base64') },
      },
    ],
    users: [{ name: 'default', user: { 'client-key-data': Buffer.from('KEY').toString('base64') } }],
  });
  writeKubeconfig(file, 0o644, { server: 'https://10.0.0.1:6443', caPem: 'CA', token: 'tok' });
  t.equal(fs.statSync(file).mode & 0o777, 0o644);
  t.match(YAML.parse(kubeconfigYaml({ server: 's', caPem: 'c', token: 'tok' })).users[0].user, { token: 'tok' });
});

t.test('join token: K10 format carrying the CA hash', async (t) => {
  const dir = tempDir(t);
  const token = ensureJoinToken(dir, 'CA PEM');
  t.match(token, new RegExp(`^K10${caHash('CA PEM')}::server:[0-9a-f]{64}$`));
  t.equal(ensureJoinToken(dir, 'CA PEM'), token, 'reused');
  t.equal(fs.statSync(path.join(dir, 'server/token')).mode & 0o777, 0o600);
  t.ok(tokenAccepted(token, token, 'CA PEM'));
  t.ok(tokenAccepted(parseJoinToken(token).password, token, 'CA PEM'), 'the bare secret works too');
  t.notOk(tokenAccepted(token, token, 'OTHER CA'), 'a CA hash mismatch is refused');
  t.notOk(tokenAccepted(`K10${'0'.repeat(64)}::server:wrong`, token, 'CA PEM'));
  t.throws(() => parseJoinToken('K10zz::x'), /malformed/);
  t.match(ensureJoinToken(tempDir(t), 'CA PEM', 'my-secret'), /::server:my-secret$/, '--token becomes the secret');
});

t.test('service account tokens', async (t) => {
  const key = await keyToPem((await generateKey()).privateKey);
  const objects = new Map<string, LookedUp>([['sa/default/robot', { metadata: { uid: 'uid-1' } }]]);
  const lookup = (kind: string) => async (ns: string, name: string) => objects.get(`${kind}/${ns}/${name}`);
  const lookups = { serviceAccount: lookup('sa'), pod: lookup('pod'), secret: lookup('secret') };
  const tokens = new ServiceAccountTokens(key, lookups);
  const { token, expirationTimestamp } = await tokens.issue({ namespace: 'default', name: 'robot', uid: 'uid-1', expirationSeconds: 3600 });
  t.ok(Date.parse(expirationTimestamp) > Date.now() + 3500_000);
  t.same(await tokens.verify(token), {
    username: 'system:serviceaccount:default:robot',
    uid: 'uid-1',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:default'],
  });
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
  t.match(payload, {
    iss: 'https://kubernetes.default.svc.cluster.local',
    sub: 'system:serviceaccount:default:robot',
    'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'robot', uid: 'uid-1' } },
  });
  t.equal(await tokens.verify(`${token.slice(0, -3)}abc`), undefined, 'bad signature');
  t.equal(await tokens.verify('not a token'), undefined, 'not a JWT');
  const other = new ServiceAccountTokens(await keyToPem((await generateKey()).privateKey), lookups);
  t.equal(await other.verify(token), undefined, "another cluster's key");
  const expired = await tokens.issue({ namespace: 'default', name: 'robot', uid: 'uid-1', expirationSeconds: -10 });
  t.equal(await tokens.verify(expired.token), undefined, 'expired');
  t.equal(await tokens.verify(token, 'other-audience'), undefined, 'wrong audience');

  // Bound to a pod: valid while that pod (same uid) exists, and for a minute after its deletion began.
  objects.set('pod/default/p', { metadata: { uid: 'pod-1' } });
  const bound = (
    await tokens.issue({ namespace: 'default', name: 'robot', uid: 'uid-1', boundObject: { kind: 'Pod', name: 'p', uid: 'pod-1' } })
  ).token;
  t.match(await tokens.verify(bound), {
    extra: { 'authentication.kubernetes.io/pod-name': ['p'], 'authentication.kubernetes.io/pod-uid': ['pod-1'] },
  });
  objects.set('pod/default/p', { metadata: { uid: 'pod-1', deletionTimestamp: new Date(Date.now() + 30_000).toISOString() } });
  t.ok(await tokens.verify(bound), 'a pod still stopping');
  objects.set('pod/default/p', { metadata: { uid: 'pod-1', deletionTimestamp: new Date(Date.now() - 61_000).toISOString() } });
  t.equal(await tokens.verify(bound), undefined, 'a pod deleting for over a minute');
  objects.set('pod/default/p', { metadata: { uid: 'pod-2' } });
  t.equal(await tokens.verify(bound), undefined, 'a pod of the same name, recreated');
  objects.delete('pod/default/p');
  t.equal(await tokens.verify(bound), undefined, 'the pod is gone');
  // Bound to a Secret.
  objects.set('secret/default/s', { metadata: { uid: 'sec-1' } });
  const toSecret = (
    await tokens.issue({ namespace: 'default', name: 'robot', uid: 'uid-1', boundObject: { kind: 'Secret', name: 's', uid: 'sec-1' } })
  ).token;
  t.ok(await tokens.verify(toSecret));
  objects.delete('secret/default/s');
  t.equal(await tokens.verify(toSecret), undefined, 'the secret is gone');

  // Legacy: valid while the Secret holds exactly this token.
  const legacy = await tokens.issueLegacy({
    namespace: 'default',
    serviceAccountName: 'robot',
    serviceAccountUid: 'uid-1',
    secretName: 'robot-token',
  });
  t.match(JSON.parse(Buffer.from(legacy.split('.')[1]!, 'base64url').toString()), {
    iss: 'kubernetes/serviceaccount',
    sub: 'system:serviceaccount:default:robot',
    'kubernetes.io/serviceaccount/secret.name': 'robot-token',
  });
  t.equal(await tokens.verify(legacy), undefined, 'no Secret holds it');
  objects.set('secret/default/robot-token', { metadata: { uid: 'x' }, data: { token: Buffer.from(legacy).toString('base64') } });
  t.same(await tokens.verify(legacy), {
    username: 'system:serviceaccount:default:robot',
    uid: 'uid-1',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:default'],
  });
  objects.set('secret/default/robot-token', { metadata: { uid: 'x' }, data: { token: Buffer.from('another').toString('base64') } });
  t.equal(await tokens.verify(legacy), undefined, 'the Secret holds another token');

  objects.delete('sa/default/robot');
  t.equal(await tokens.verify(token), undefined, 'deleted service account');
  t.ok(createPublicKey(key), 'key is a valid PEM');
});
