// The embedded etcd's certificates: K3s's files, from the given CA, with the names and usages etcd
// checks, reused on restart and issued again when the names grow or the CA changes.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createCA } from '../../src/pki/certificates.js';
import { ensureEtcdPki } from '../../src/pki/etcd-pki.js';
import { tempDir } from '../helpers/tmp.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const cert = (file: string) => new X509Certificate(fs.readFileSync(file));

t.test('first start issues the three certificates from the CA; restarts reuse them; new names reissue', async (t) => {
  const dir = tempDir(t);
  const ca = await createCA('skiff-server-ca');
  const pki = await ensureEtcdPki(dir, ca, ['192.0.2.7', 'server-1.example.com']);
  const tlsDir = path.join(dir, 'server/tls/etcd');
  t.same(fs.readdirSync(tlsDir).sort(), [
    'client.crt',
    'client.key',
    'peer-server-client.crt',
    'peer-server-client.key',
    'server-ca.crt',
    'server-client.crt',
    'server-client.key',
  ]);
  t.equal(pki.caFile, path.join(tlsDir, 'server-ca.crt'));
  t.equal(fs.readFileSync(pki.caFile, 'utf8'), ca.certPem);
  t.equal(fs.statSync(pki.peer.key).mode & 0o777, 0o600, 'keys for root only');
  const caCert = new X509Certificate(ca.certPem);
  for (const [files, usages] of [
    [pki.server, [SERVER_AUTH, CLIENT_AUTH]],
    [pki.peer, [SERVER_AUTH, CLIENT_AUTH]],
    [pki.client, [CLIENT_AUTH]],
  ] as const) {
    const c = cert(files.cert);
    t.ok(c.checkIssued(caCert) && c.verify(caCert.publicKey), `${files.cert} issued by the CA`);
    t.same([...c.keyUsage!].sort(), usages, `${path.basename(files.cert)}: ${usages.join(', ')}`);
    t.ok(c.checkPrivateKey(createPrivateKey(fs.readFileSync(files.key))), 'with its key');
  }
  for (const san of ['IP Address:192.0.2.7', 'DNS:server-1.example.com', 'IP Address:127.0.0.1', 'DNS:localhost']) {
    t.match(cert(pki.server.cert).subjectAltName, san);
    t.match(cert(pki.peer.cert).subjectAltName, san);
  }

  const pems = () => [pki.server, pki.peer, pki.client].map((f) => fs.readFileSync(f.cert, 'utf8'));
  const first = pems();
  t.same(await ensureEtcdPki(dir, ca, ['192.0.2.7']), pki, 'the same files');
  t.same(pems(), first, 'fewer names: reused');
  await ensureEtcdPki(dir, ca, ['192.0.2.7', '192.0.2.8']);
  const grown = pems();
  t.not(grown[0], first[0], 'a new name: a new serving certificate');
  t.not(grown[1], first[1], 'and a new peer certificate');
  t.equal(grown[2], first[2], 'the client certificate has no names to grow');
  t.match(cert(pki.peer.cert).subjectAltName, 'IP Address:192.0.2.8');

  const otherCa = await createCA('another-ca');
  await ensureEtcdPki(dir, otherCa, ['192.0.2.7']);
  for (const file of [pki.server, pki.peer, pki.client].map((f) => f.cert))
    t.ok(cert(file).checkIssued(new X509Certificate(otherCa.certPem)), `${path.basename(file)} issued again by a new CA`);
  await t.rejects(ensureEtcdPki(dir, ca, ['bad name!']), /invalid --tls-san "bad name!"/);
});
