// Encryption at rest through the API, in-process: Secrets stored encrypted and read (get, list,
// watch) as plaintext, K3s's config file and stages, rotate-keys, prepare/rotate/reencrypt,
// disable/enable, the wrong key after a restart, and who may use the secrets-encrypt endpoints.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { SecretsEncryption, type EncryptionState } from '../../src/api/encryption/secrets-encrypt.js';
import { createApiServer, type ApiServer } from '../../src/apiserver/api-server.js';
import type { UserInfo } from '../../src/apiserver/authn.js';
import { generateKey, keyToPem } from '../../src/pki/certificates.js';
import { openSqliteStore, type Store } from '../../src/store/index.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';
import { admin } from './harness.js';

const VALUE = 'c2VjcmV0LXZhbHVlLTlmM2E='; // base64 of secret-value-9f3a
const KEY = '/registry/secrets/default/db';

interface Server {
  stack: ApiServer;
  store: Store;
  encryption: SecretsEncryption;
  call(method: string, url: string, body?: unknown, user?: UserInfo): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

async function start(t: Test, dir: string, opts: { enable?: boolean; provider?: 'aescbc' | 'secretbox' | 'aesgcm' } = {}) {
  const store = await openSqliteStore({ file: path.join(dir, 'state.db') });
  const encryption = new SecretsEncryption({
    dir: path.join(dir, 'cred'),
    enable: opts.enable ?? true,
    provider: opts.provider ?? 'aescbc',
  });
  const stack = await createApiServer({ store, serviceAccountKeyPem: await keyToPem((await generateKey()).privateKey), encryption });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await stack.close();
    await store.close();
  };
  t.teardown(close);
  const call = async (method: string, url: string, body?: unknown, user: UserInfo = admin) => {
    const res = await stack.app.fetch(
      new Request(`https://skiff.test${url}`, {
        method,
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      }),
      { user },
    );
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return { stack, store, encryption, call, close } satisfies Server;
}

const secret = (name = 'db', value = VALUE) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: { password: value } });
const raw = async (s: Server, key = KEY) => (await s.store.get(key))!.value.toString('latin1');
const status = async (s: Server) => (await s.call('GET', '/v1-skiff/encrypt/status')).body as EncryptionState;
const request = (s: Server, body: unknown) => s.call('PUT', '/v1-skiff/encrypt/config', body);

t.test('--secrets-encryption: K3s config file, Secrets encrypted in the store and plaintext to every reader', async (t) => {
  const dir = tempDir(t);
  const s = await start(t, dir);
  const file = path.join(dir, 'cred', 'encryption-config.json');
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'the config is readable by its owner only');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  t.match(config, {
    kind: 'EncryptionConfiguration',
    apiVersion: 'apiserver.config.k8s.io/v1',
    resources: [{ resources: ['secrets'], providers: [{ aescbc: { keys: [{ name: 'aescbckey' }] } }, { identity: {} }] }],
  });
  t.equal(Buffer.from(config.resources[0].providers[0].aescbc.keys[0].secret, 'base64').length, 32);
  t.equal(fs.readFileSync(path.join(dir, 'cred', 'encryption-state.json'), 'utf8').split('-')[0], 'start');

  const def = s.stack.registry.byResource('', 'v1', 'secrets')!;
  const watch = await s.stack.objects.watch(def, 'default', { resourceVersion: '' });
  t.teardown(() => watch.close());
  const events = watch.events[Symbol.asyncIterator]();
  await events.next(); // the (empty) initial list
  t.equal((await s.call('POST', '/api/v1/namespaces/default/secrets', secret())).status, 201);
  t.match(await raw(s), /^k8s:enc:aescbc:v1:aescbckey:/, 'stored with the upstream envelope');
  t.notOk((await raw(s)).includes(VALUE), 'the value is not in the stored bytes');
  t.equal((await s.call('GET', '/api/v1/namespaces/default/secrets/db')).body.data.password, VALUE, 'get: plaintext');
  t.equal((await s.call('GET', '/api/v1/secrets')).body.items[0].data.password, VALUE, 'list: plaintext');
  const added = await events.next();
  t.match(added.value, [{ type: 'ADDED', object: { data: { password: VALUE } } }], 'watch: plaintext');
  t.equal((await s.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'c' }, data: { k: 'plain' } })).status, 201);
  t.match(await raw(s, '/registry/configmaps/default/c'), /^\{/, 'other resources stay plaintext');

  t.same(await status(s), {
    stage: 'start',
    activekey: 'AES-CBC aescbckey',
    enable: true,
    hashmatch: true,
    inactivekeys: [],
  });
});

t.test('rotate-keys: a new key first, every Secret rewritten with it, the old key removed, history compacted', async (t) => {
  const s = await start(t, tempDir(t));
  await s.call('POST', '/api/v1/namespaces/default/secrets', secret());
  await s.call('POST', '/api/v1/namespaces/default/secrets', secret('other', 'b3RoZXI='));
  const before = s.store.currentRevision();
  const res = await request(s, { stage: 'rotate_keys' });
  t.equal(res.status, 200, JSON.stringify(res.body));
  t.equal(res.body.message, 'keys rotated, reencryption finished');
  const st = await status(s);
  t.equal(st.stage, 'reencrypt_finished');
  t.match(st.activekey, /^AES-CBC aescbckey-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'K3s names a new key aescbckey-<time>');
  t.same(st.inactivekeys, [], 'the old key is gone from the config');
  const name = st.activekey.split(' ')[1]!;
  t.match(await raw(s), new RegExp(`^k8s:enc:aescbc:v1:${name}:`), 'the Secret is written with the new key');
  t.match(await raw(s, '/registry/secrets/default/other'), new RegExp(`^k8s:enc:aescbc:v1:${name}:`));
  t.equal((await s.call('GET', '/api/v1/namespaces/default/secrets/db')).body.data.password, VALUE);
  t.ok(s.store.compactRevision() > before, 'the history with the old key was compacted away');
  t.equal((await request(s, { stage: 'rotate' })).body.message, 'incorrect stage: reencrypt_finished found on this server');
});

t.test('prepare, rotate, reencrypt (K3s stages), with secretbox keys', async (t) => {
  const s = await start(t, tempDir(t), { provider: 'secretbox' });
  await s.call('POST', '/api/v1/namespaces/default/secrets', secret());
  t.match(await raw(s), /^k8s:enc:secretbox:v1:secretboxkey:/);
  t.equal((await request(s, { stage: 'reencrypt_active' })).status, 400, 'reencrypt needs rotate first');
  t.equal((await request(s, { stage: 'prepare' })).body.message, 'prepare completed successfully');
  let st = await status(s);
  t.equal(st.stage, 'prepare');
  t.equal(st.activekey, 'XSalsa20-POLY1305 secretboxkey', 'prepare adds a key without using it');
  t.match(st.inactivekeys, [/^XSalsa20-POLY1305 secretboxkey-/]);
  t.equal((await request(s, { stage: 'rotate' })).body.message, 'rotate completed successfully');
  st = await status(s);
  t.match(st.activekey, /^XSalsa20-POLY1305 secretboxkey-/, 'rotate puts the new key first');
  t.same(st.inactivekeys, ['XSalsa20-POLY1305 secretboxkey']);
  t.equal((await s.call('GET', '/api/v1/namespaces/default/secrets/db')).body.data.password, VALUE, 'the old key still reads');
  t.equal((await request(s, { stage: 'reencrypt_active' })).body.message, 'reencryption started');
  await eventually(async () => (await status(s)).stage === 'reencrypt_finished', { what: 'reencryption to finish' });
  st = await status(s);
  t.same(st.inactivekeys, [], 'the old key is removed');
  t.match(await raw(s), new RegExp(`^k8s:enc:secretbox:v1:${st.activekey.split(' ')[1]}:`));
});

t.test('disable writes Secrets as plaintext (keys kept), enable encrypts them again', async (t) => {
  const s = await start(t, tempDir(t));
  await s.call('POST', '/api/v1/namespaces/default/secrets', secret());
  t.equal((await request(s, { enable: false })).body.message, 'secrets-encryption disabled');
  t.match(await raw(s), /^\{/, 'rewritten as plaintext');
  let st = await status(s);
  t.equal(st.enable, false);
  t.same([st.activekey, st.inactivekeys], ['', ['AES-CBC aescbckey']], 'identity first: no key is active');
  t.equal((await request(s, { enable: false })).body.message, 'secrets-encryption already disabled');
  t.equal((await request(s, { enable: true })).body.message, 'secrets-encryption enabled');
  t.match(await raw(s), /^k8s:enc:aescbc:v1:aescbckey:/);
  st = await status(s);
  t.equal(st.enable, true);
  t.equal((await request(s, { stage: 'nonsense' })).body.message, 'unknown stage nonsense requested');
});

t.test('a server without the config: enable creates it and encrypts what is stored', async (t) => {
  const s = await start(t, tempDir(t), { enable: false });
  t.same(await status(s), { stage: 'start', activekey: '' }, 'no config: K3s prints "Disabled, no configuration file found"');
  await s.call('POST', '/api/v1/namespaces/default/secrets', secret());
  t.match(await raw(s), /^\{/);
  t.equal((await request(s, { stage: 'rotate_keys' })).status, 400);
  t.equal((await request(s, { enable: true })).body.message, 'secrets-encryption enabled');
  t.match(await raw(s), /^k8s:enc:aescbc:v1:aescbckey:/);
  t.equal((await status(s)).enable, true);
});

t.test('a restart with another key: reading the Secret fails with a message naming the key', async (t) => {
  const dir = tempDir(t);
  const s = await start(t, dir);
  await s.call('POST', '/api/v1/namespaces/default/secrets', secret());
  await s.close();
  const file = path.join(dir, 'cred', 'encryption-config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  config.resources[0].providers[0].aescbc.keys[0].secret = Buffer.alloc(32, 7).toString('base64');
  fs.writeFileSync(file, JSON.stringify(config));
  const again = await start(t, dir);
  const res = await again.call('GET', '/api/v1/namespaces/default/secrets/db');
  t.equal(res.status, 500);
  t.match(res.body.message, /unable to transform key "\/registry\/secrets\/default\/db": decrypting with aescbc key "aescbckey" failed/);
});

t.test('only the cluster admins (system:masters) may use the endpoints', async (t) => {
  const s = await start(t, tempDir(t));
  const node: UserInfo = { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
  const res = await s.call('PUT', '/v1-skiff/encrypt/config', { stage: 'rotate_keys' }, node);
  t.equal(res.status, 403);
  t.match(res.body.message, /User "system:node:n1" cannot \w+ path "\/v1-skiff\/encrypt\/config"/, 'refused by RBAC or by the endpoint');
  t.equal((await s.call('GET', '/v1-skiff/encrypt/status', undefined, node)).status, 403);
  t.equal((await status(s)).stage, 'start', 'nothing changed');
});
