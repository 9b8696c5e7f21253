// Encryption at rest, below the API: the providers' envelopes byte for byte as kube-apiserver stores
// them (written here and read by hand, built by hand and read here), key rotation, identity first or
// last, resource matching, config validation, and the errors a wrong or missing key gives.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import t from 'tap';
import { configWith, parseEncryptionConfig, type ProviderConfiguration } from '../../src/api/encryption/config.js';
import { EncryptionTransformers, ProviderChain } from '../../src/api/encryption/transformers.js';
import { identityTransformer, IDENTITY } from '../../src/api/storage/transformer.js';

const KEY = '/registry/secrets/default/s1';
const plain = Buffer.from('{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}');
const secret32 = randomBytes(32);
const key = (name: string, bytes = secret32) => ({ name, secret: bytes.toString('base64') });
const aescbc = (...keys: { name: string; secret: string }[]): ProviderConfiguration => ({ aescbc: { keys } });
const aesgcm = (...keys: { name: string; secret: string }[]): ProviderConfiguration => ({ aesgcm: { keys } });
const secretbox = (...keys: { name: string; secret: string }[]): ProviderConfiguration => ({ secretbox: { keys } });
const identity: ProviderConfiguration = { identity: {} };

t.test('aescbc: k8s:enc:aescbc:v1:<name>: + 16-byte IV + AES-CBC with PKCS#7, both ways', async (t) => {
  const chain = new ProviderChain([aescbc(key('aescbckey')), identity]);
  const stored = chain.toStorage(plain, KEY);
  const prefix = 'k8s:enc:aescbc:v1:aescbckey:';
  t.equal(stored.subarray(0, prefix.length).toString(), prefix, 'the upstream envelope prefix');
  t.notOk(stored.includes(Buffer.from('aHVudGVyMg')), 'the value is not in the stored bytes');
  const body = stored.subarray(prefix.length);
  t.equal(body.length, 16 + Math.ceil((plain.length + 1) / 16) * 16, 'IV, then whole blocks with padding');
  const d = createDecipheriv('aes-256-cbc', secret32, body.subarray(0, 16));
  t.same(Buffer.concat([d.update(body.subarray(16)), d.final()]), plain, 'read back by hand as upstream reads it');

  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', secret32, iv);
  const byHand = Buffer.concat([Buffer.from(prefix), iv, c.update(plain), c.final()]);
  t.same(chain.fromStorage(byHand, KEY), plain, 'a value built by hand as upstream writes it is read');
  t.not(chain.toStorage(plain, KEY).toString('hex'), stored.toString('hex'), 'a fresh IV each write');
});

t.test('aesgcm: 12-byte nonce + ciphertext + tag, with the datastore key authenticated', async (t) => {
  const k16 = randomBytes(16);
  const chain = new ProviderChain([aesgcm(key('g1', k16))]);
  const stored = chain.toStorage(plain, KEY);
  const prefix = 'k8s:enc:aesgcm:v1:g1:';
  t.equal(stored.subarray(0, prefix.length).toString(), prefix);
  const body = stored.subarray(prefix.length);
  t.equal(body.length, 12 + plain.length + 16);
  const d = createDecipheriv('aes-128-gcm', k16, body.subarray(0, 12));
  d.setAAD(Buffer.from(KEY));
  d.setAuthTag(body.subarray(body.length - 16));
  t.same(Buffer.concat([d.update(body.subarray(12, body.length - 16)), d.final()]), plain, 'read back by hand');
  t.same(chain.fromStorage(stored, KEY), plain);
  t.throws(
    () => chain.fromStorage(stored, '/registry/secrets/default/other'),
    /"\/registry\/secrets\/default\/other": decrypting with aesgcm key "g1" failed \(message authentication failed\)/,
    'a value copied under another key does not open',
  );
});

t.test('secretbox: 24-byte nonce + NaCl secretbox (XSalsa20-Poly1305), NaCl known answer', async (t) => {
  // The C NaCl's answer for key 0x01 * 32, nonce 0x02 * 24, message 0x03 * 64 (Go's x/crypto checks it too).
  const expected = Buffer.from(
    '8442bc313f4626f1359e3b50122b6ce6fe66ddfe7d39d14e637eb4fd5b45beadab55198df6ab5368439792a23c87db70acb6156dc5ef957ac04f6276cf6093' +
      'b84be77ff0849cc33e34b7254d5a8f65ad',
    'hex',
  );
  const chain = new ProviderChain([secretbox(key('box', Buffer.alloc(32, 1)))]);
  const stored = Buffer.concat([Buffer.from('k8s:enc:secretbox:v1:box:'), Buffer.alloc(24, 2), expected]);
  t.same(chain.fromStorage(stored, KEY), Buffer.alloc(64, 3), 'the NaCl box opens');
  const ours = chain.toStorage(plain, KEY);
  t.equal(ours.length, 'k8s:enc:secretbox:v1:box:'.length + 24 + 16 + plain.length);
  t.same(chain.fromStorage(ours, KEY), plain);
  const tampered = Buffer.from(ours);
  tampered[tampered.length - 1]! ^= 1;
  t.throws(() => chain.fromStorage(tampered, KEY), /secretbox key "box" failed \(message authentication failed\)/);
});

t.test('rotation: the first key writes, every listed key reads; a value is read by the key its prefix names', async (t) => {
  const old = key('aescbckey', randomBytes(32));
  const fresh = key('aescbckey-2026-01-01T00:00:00Z', randomBytes(32));
  const before = new ProviderChain([aescbc(old), identity]);
  const written = before.toStorage(plain, KEY);
  const during = new ProviderChain([aescbc(fresh, old), identity]);
  t.same(during.fromStorage(written, KEY), plain, 'the old key still reads');
  t.match(during.toStorage(plain, KEY).toString(), /^k8s:enc:aescbc:v1:aescbckey-2026-01-01T00:00:00Z:/, 'the new key writes');
  t.equal(during.writer, 'aescbc key "aescbckey-2026-01-01T00:00:00Z"');
  // Across providers too: secretbox first, aescbc second.
  const mixed = new ProviderChain([secretbox(key('sb')), aescbc(old), identity]);
  t.same(mixed.fromStorage(written, KEY), plain);
  t.match(mixed.toStorage(plain, KEY).toString(), /^k8s:enc:secretbox:v1:sb:/);
  // Two aescbc entries with the same prefix: a failure of the first is not the end (upstream's rule).
  const twoEntries = new ProviderChain([aescbc(key('aescbckey', randomBytes(32))), aescbc(old)]);
  t.same(twoEntries.fromStorage(written, KEY), plain);
});

t.test('identity last reads plaintext and writes encrypted; identity first writes plaintext and still reads both', async (t) => {
  const enc = new ProviderChain([aescbc(key('k')), identity]);
  const encrypted = enc.toStorage(plain, KEY);
  t.same(enc.fromStorage(plain, KEY), plain, 'plaintext written before encryption was enabled is read');
  const disabled = new ProviderChain([identity, aescbc(key('k'))]);
  t.same(disabled.toStorage(plain, KEY), plain, 'identity first: writes are plaintext');
  t.same(disabled.fromStorage(encrypted, KEY), plain, 'and encrypted values still open');
  t.same(disabled.fromStorage(plain, KEY), plain);
  t.equal(disabled.writer, 'identity');
});

t.test('wrong or missing key: a clear error naming the key', async (t) => {
  const written = new ProviderChain([aescbc(key('k1', randomBytes(32)))]).toStorage(plain, KEY);
  const wrong = new ProviderChain([aescbc(key('k1', randomBytes(32))), identity]);
  t.throws(
    () => wrong.fromStorage(written, KEY),
    /unable to transform key "\/registry\/secrets\/default\/s1": decrypting with aescbc key "k1" failed .*not the one/,
  );
  const rotated = new ProviderChain([aescbc(key('aescbckey-2026-01-01T00:00:00Z', randomBytes(32)))]).toStorage(plain, KEY);
  t.throws(() => new ProviderChain([aescbc(key('k2'))]).fromStorage(rotated, KEY), /aescbc key "aescbckey-2026-01-01T00:00:00Z", which/);
  const missing = new ProviderChain([aescbc(key('k2')), identity]);
  t.throws(
    () => missing.fromStorage(written, KEY),
    /written with aescbc key "k1", which the encryption config does not have \(it has: aescbc key "k2", identity\)/,
  );
  const noIdentity = new ProviderChain([aescbc(key('k2'))]);
  t.throws(() => noIdentity.fromStorage(plain, KEY), /the value is not encrypted and the encryption config has no identity provider/);
  t.throws(() => identityTransformer.fromStorage(written, KEY), /the value is encrypted \(aescbc key "k1"\) but no encryption config/);
  t.same(IDENTITY.forResource('', 'secrets').fromStorage(plain, KEY), plain);
});

t.test('which resources a config covers: exact names, then *.<group>, then *.*; the first entry wins', async (t) => {
  const cfg = {
    ...configWith(['secrets', 'configmaps'], [aescbc(key('a')), identity]),
  };
  cfg.resources.push({ resources: ['secrets', '*.apps'], providers: [secretbox(key('b'))] });
  cfg.resources.push({ resources: ['*.'], providers: [aesgcm(key('c'))] });
  const tr = new EncryptionTransformers(cfg);
  const writes = (g: string, r: string) => tr.forResource(g, r).toStorage(plain, KEY).subarray(0, 20).toString();
  t.match(writes('', 'secrets'), /^k8s:enc:aescbc:/, 'the first entry naming secrets wins');
  t.match(writes('', 'configmaps'), /^k8s:enc:aescbc:/);
  t.match(writes('apps', 'deployments'), /^k8s:enc:secretbox:/, '*.apps');
  t.match(writes('', 'pods'), /^k8s:enc:aesgcm:/, '*. is every core resource');
  t.equal(writes('batch', 'jobs'), plain.subarray(0, 20).toString(), 'others stay plaintext');
  t.ok(tr.covers('', 'secrets'));
  t.notOk(tr.covers('batch', 'jobs'));
  const all = new EncryptionTransformers(configWith(['*.*'], [aescbc(key('a'))]));
  t.ok(all.covers('batch', 'jobs'));
});

t.test('config files: K3s JSON and upstream YAML are read; bad ones are refused with upstream messages', async (t) => {
  const k3s = JSON.stringify(configWith(['secrets'], [aescbc(key('aescbckey')), identity]));
  t.equal(parseEncryptionConfig(k3s, 'f').resources[0]!.resources[0], 'secrets');
  const yaml = [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '  - resources: [secrets, configmaps]',
    '    providers:',
    `      - aesgcm: {keys: [{name: key1, secret: ${randomBytes(16).toString('base64')}}]}`,
    '      - identity: {}',
  ].join('\n');
  t.same(parseEncryptionConfig(yaml, 'f').resources[0]!.resources, ['secrets', 'configmaps']);
  const bad = (doc: unknown) => () => parseEncryptionConfig(JSON.stringify(doc), '/etc/enc.json');
  t.throws(bad(configWith(['secrets'], [aescbc(key('k', randomBytes(20)))])), {
    message:
      'invalid encryption config /etc/enc.json: resources[0].providers[0].aescbc.keys[0].secret: Invalid value: "REDACTED": ' +
      'secret is not of the expected length, got 20, expected one of [16 24 32]',
  });
  t.throws(bad(configWith(['secrets'], [secretbox(key('k', randomBytes(16)))])), /expected one of \[32\]/);
  t.throws(bad(configWith(['secrets'], [{ aescbc: { keys: [{ name: 'k', secret: 'not base64!' }] } }])), /secrets must be base64 encoded/);
  t.throws(bad(configWith(['secrets'], [{ aescbc: { keys: [] } }])), /at least one keys is required/);
  t.throws(bad(configWith(['secrets'], [{ identity: {}, aescbc: { keys: [key('k')] } } as never])), /more than one provider/);
  t.throws(bad(configWith(['secrets'], [{ kms: { name: 'x' } } as never])), /KMS providers are not supported/);
  t.throws(bad(configWith(['Secrets'], [identity])), /resource name should not contain capital letters/);
  t.throws(bad(configWith(['*'], [identity])), /use '\*\.' to encrypt all the resources/);
  t.throws(bad({ kind: 'EncryptionConfig', apiVersion: 'v1', resources: [] }), /kind: must be EncryptionConfiguration.*apiVersion/);
  t.throws(() => parseEncryptionConfig('{', 'f'), /not valid JSON or YAML/);
});
