// The cluster's bootstrap data: sealed with the token's secret, taken by a second server (whose own
// certificates from other CAs are then issued again), and refused for another token's cluster.
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ensureClusterPki } from '../../src/pki/cluster-pki.js';
import { bootstrapKey, openBootstrap, saveBootstrap, sealBootstrap, takeBootstrap } from '../../src/server/bootstrap.js';
import { openSqliteStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';

const certificateIssuedBy = (leafPem: string, caPem: string) => {
  const ca = new X509Certificate(caPem);
  return new X509Certificate(leafPem).verify(ca.publicKey);
};

const file = (dataDir: string, name: string) => fs.readFileSync(path.join(dataDir, 'server', name), 'utf8');

t.test('sealed with the secret: opened with it, refused with another, the keys unreadable in the blob', async (t) => {
  const dir = tempDir(t);
  await ensureClusterPki(dir, { sans: [] });
  const blob = sealBootstrap(dir, 'secret-1');
  const files = openBootstrap(blob, 'secret-1');
  t.same(Object.keys(files).sort(), [
    'tls/client-ca.crt',
    'tls/client-ca.key',
    'tls/server-ca.crt',
    'tls/server-ca.key',
    'tls/service.key',
  ]);
  t.equal(files['tls/server-ca.key'], file(dir, 'tls/server-ca.key'));
  t.notOk(blob.toString().includes('PRIVATE KEY'), 'no key in the clear');
  t.throws(() => openBootstrap(blob, 'secret-2'), /cannot be opened with this --token/);
  t.not(bootstrapKey('secret-1'), bootstrapKey('secret-2'));
});

t.test('a second server takes the first one’s CAs and issues its own certificates from them', async (t) => {
  const store = await openSqliteStore({ file: path.join(tempDir(t), 'state.db') });
  t.teardown(() => store.close());
  const first = tempDir(t);
  const second = tempDir(t);
  t.notOk(await takeBootstrap(store, first, 's'), 'nothing to take in a new datastore');
  await ensureClusterPki(first, { sans: [] });
  t.ok(await saveBootstrap(store, first, 's'));

  // The second server made its own PKI before (a server that ran alone once): the cluster's wins.
  const own = await ensureClusterPki(second, { sans: [] });
  t.ok(await takeBootstrap(store, second, 's'));
  const pki = await ensureClusterPki(second, { sans: [] });
  t.equal(pki.serverCa.certPem, file(first, 'tls/server-ca.crt'));
  t.equal(pki.serviceAccountKeyPem, file(first, 'tls/service.key'));
  t.not(pki.serving.certPem, own.serving.certPem, 'serving certificate issued again');
  t.ok(certificateIssuedBy(pki.serving.certPem, pki.serverCa.certPem), "by the cluster's server CA");
  t.ok(certificateIssuedBy(pki.admin.certPem, pki.clientCa.certPem), "admin certificate by the cluster's client CA");

  // Two first servers at once: the one that saves second takes the other's data.
  const late = tempDir(t);
  await ensureClusterPki(late, { sans: [] });
  t.notOk(await saveBootstrap(store, late, 's'));
  t.equal(file(late, 'tls/client-ca.key'), file(first, 'tls/client-ca.key'));
});

t.test("another token's cluster in the datastore: refused in so many words", async (t) => {
  const store = await openSqliteStore({ file: path.join(tempDir(t), 'state.db') });
  t.teardown(() => store.close());
  const first = tempDir(t);
  await ensureClusterPki(first, { sans: [] });
  await saveBootstrap(store, first, 'one');
  await t.rejects(takeBootstrap(store, tempDir(t), 'two'), /another token's cluster: start this server with the first server's --token/);
});
