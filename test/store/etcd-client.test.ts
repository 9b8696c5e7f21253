import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { openEtcdStore, parseEtcdEndpoints } from '../../src/store/index.js';
import { tempDir } from '../helpers/tmp.js';

t.test('etcd endpoints: one or several, comma-separated, port 2379 unless given', async (t) => {
  t.same(parseEtcdEndpoints('https://a:2379,https://b:2379'), ['https://a:2379', 'https://b:2379']);
  t.same(parseEtcdEndpoints(' http://127.0.0.1:32379/ '), ['http://127.0.0.1:32379']);
  t.same(parseEtcdEndpoints('https://etcd'), ['https://etcd:2379']);
  t.same(parseEtcdEndpoints('https://etcd:443'), ['https://etcd:443'], "https's own port stays");
  t.same(parseEtcdEndpoints('https://[fd00::1]:2379'), ['https://[fd00::1]:2379']);
});

t.test('bad etcd endpoints are refused, naming the one at fault', async (t) => {
  for (const [text, message] of [
    ['', /invalid etcd endpoint ""/],
    ['etcd:2379', /invalid etcd endpoint "etcd:2379": expected http:\/\/host:port or https:\/\/host:port/],
    ['postgres://u:p@db/skiff', /invalid etcd endpoint/],
    ['https://a:2379,', /invalid etcd endpoint ""/],
    ['https://a:2379/skiff', /invalid etcd endpoint "https:\/\/a:2379\/skiff"/],
    ['https://user:secret@a:2379', /invalid etcd endpoint/],
    ['https://a:99999', /invalid etcd endpoint "https:\/\/a:99999"/],
    ['http://a:2379,https://b:2379', /mix http:\/\/ and https:\/\//],
  ] as const) {
    t.throws(() => parseEtcdEndpoints(text), { name: 'StoreOpenError', message }, text);
  }
});

t.test('TLS files: refused before any connection when they cannot work', async (t) => {
  const ca = path.join(tempDir(t), 'ca.pem');
  await t.rejects(openEtcdStore({ endpoints: ['https://127.0.0.1:1'], tls: { cafile: ca } }), {
    name: 'StoreOpenError',
    message: `cannot read the etcd CA file ${ca}`,
  });
  fs.writeFileSync(ca, 'a CA');
  await t.rejects(openEtcdStore({ endpoints: ['http://127.0.0.1:1'], tls: { cafile: ca } }), {
    message: 'etcd TLS files are given, but the etcd endpoints are http://, not https://',
  });
  await t.rejects(openEtcdStore({ endpoints: ['https://127.0.0.1:1'], tls: { cafile: ca, certfile: ca } }), {
    message: 'an etcd client certificate needs its key, and a key its certificate',
  });
  await t.rejects(openEtcdStore({ endpoints: [] }), { message: 'no etcd endpoint given' });
});
