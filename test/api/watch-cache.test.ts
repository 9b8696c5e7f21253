// The API server's watch cache under ObjectStore: reads by Kubernetes' resourceVersion rules (most
// recent after catching up with writes the cache has not seen yet, any, not older than, exact),
// paging with the datastore's continue tokens (410 once compacted), selectors, watches from the
// cache's window or from the datastore (410 when compacted), shared serialization, and Secrets
// held decrypted in memory while the datastore keeps them encrypted.
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { configWith } from '../../src/api/encryption/config.js';
import { EncryptionTransformers } from '../../src/api/encryption/transformers.js';
import { builtinResources } from '../../src/api/registry/builtin/index.js';
import { Registry } from '../../src/api/registry/registry.js';
import { ObjectStore } from '../../src/api/storage/object-store.js';
import { itemJson, listJson, objectJson } from '../../src/api/storage/shared-json.js';
import type { ApiWatchEvent, ObjectWatch } from '../../src/api/storage/watch.js';
import type { StoredObject } from '../../src/k8s/object.js';
import { newStore } from '../store/helpers.js';

const registry = new Registry(builtinResources());
const configMaps = registry.byResource('', 'v1', 'configmaps')!;
const secrets = registry.byResource('', 'v1', 'secrets')!;
const namespaces = registry.byResource('', 'v1', 'namespaces')!;

async function setup(t: Test, transformers?: EncryptionTransformers) {
  const { store, open } = await newStore(t);
  const objects = new ObjectStore(store, {}, transformers);
  for (const name of ['a', 'b']) await objects.create(namespaces, undefined, { metadata: { name } });
  const cm = (ns: string, name: string, labels: Record<string, string> = {}) =>
    objects.create(configMaps, ns, { metadata: { name, labels }, data: { k: name } });
  return { store, open, objects, cm };
}

const names = (items: StoredObject[]) => items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);

/** The next batch of a watch, failing the test if none comes within 10 s. */
async function next(it: AsyncIterator<ApiWatchEvent[]>): Promise<string[]> {
  const r = await Promise.race([
    it.next(),
    new Promise<never>((_, no) => setTimeout(() => no(new Error('no watch event in 10 s')), 10_000)),
  ]);
  if (r.done) return ['(ended)'];
  return r.value.map((e) => `${e.type} ${e.object.metadata?.name} ${e.object.metadata?.resourceVersion}`);
}
const events = (w: ObjectWatch) => w.events[Symbol.asyncIterator]();

t.test('lists and gets: every acknowledged write, per namespace, with selectors, from shared objects', async (t) => {
  const { store, objects, cm } = await setup(t);
  await cm('a', 'one', { app: 'x' });
  await cm('b', 'two', { app: 'y' });
  const first = await objects.list(configMaps, undefined);
  t.same(names(first.items), ['a/one', 'b/two']);
  // A write straight to the datastore, which the cache has not been told of yet: a read sees it.
  const raw = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'three', namespace: 'a', uid: 'u3' }, data: {} };
  const { revision } = await store.create('/registry/configmaps/a/three', Buffer.from(JSON.stringify(raw)));
  const after = await objects.list(configMaps, 'a');
  t.same(names(after.items), ['a/one', 'a/three'], 'the list sees the write acknowledged before it');
  t.equal(after.resourceVersion, String(revision));
  t.equal((await objects.get(configMaps, 'a', 'three')).metadata.resourceVersion, String(revision));
  await store.delete('/registry/configmaps/a/three');
  t.equal(await objects.tryGet(configMaps, 'a', 'three'), undefined, 'a delete is seen by the next get');

  t.same(names((await objects.list(configMaps, undefined, { labelSelector: 'app=y' })).items), ['b/two']);
  t.same(names((await objects.list(configMaps, undefined, { fieldSelector: 'metadata.namespace=a' })).items), ['a/one']);
  t.same(names((await objects.list(configMaps, undefined, { fieldSelector: 'metadata.name!=one' })).items), ['b/two']);

  const got = await objects.getShared(configMaps, 'a', 'one');
  t.ok(Object.isFrozen(got) && Object.isFrozen(got.metadata), 'the cached object is read-only');
  t.equal(got, (await objects.listShared(configMaps, 'a')).items[0], 'a list and a get hand out the same object');
  const own = await objects.get(configMaps, 'a', 'one');
  t.not(own, got, 'get and list give a copy to change');
  t.notOk(Object.isFrozen(own.metadata));
  t.same(own, got);
  const { apiVersion, kind, ...item } = got;
  t.equal(objectJson(got), JSON.stringify({ kind, apiVersion, ...item }), 'its JSON is the object, kind first');
  t.same(JSON.parse(listJson('ConfigMapList', 'v1', { resourceVersion: '1' }, [got]).toString()).items, [item], 'a list item has no kind');
  t.equal(itemJson(got), itemJson(got));
  const updated = await objects.update(configMaps, 'a', 'one', { ...structuredClone(got), data: { k: 'changed' } });
  const data = (o: StoredObject) => (o as StoredObject & { data?: Record<string, string> }).data;
  t.equal(data(updated)?.k, 'changed', 'an update over a cached object works on its own copy');
  t.equal(data(await objects.get(configMaps, 'a', 'one'))?.k, 'changed');
});

t.test('resourceVersion rules: 0, not older than, exact, and paging with continue tokens', async (t) => {
  const { store, objects, cm } = await setup(t);
  for (let i = 0; i < 5; i++) await cm('a', `cm-${i}`, { even: String(i % 2 === 0) });
  const now = await objects.list(configMaps, 'a');
  t.same((await objects.list(configMaps, 'a', { resourceVersion: '0' })).items.length, 5, 'RV=0: any, from the cache');
  const rv = Number(now.resourceVersion);
  t.equal((await objects.list(configMaps, 'a', { resourceVersion: String(rv) })).resourceVersion, String(rv), 'not older than');
  const exact = await objects.list(configMaps, 'a', { resourceVersion: String(rv), resourceVersionMatch: 'Exact' });
  t.same(names(exact.items), names(now.items), 'exact at the current revision');

  await objects.remove(configMaps, await objects.get(configMaps, 'a', 'cm-0'));
  await store.delete('/registry/configmaps/a/cm-1');
  const older = await objects.list(configMaps, 'a', { resourceVersion: String(rv), resourceVersionMatch: 'Exact' });
  t.same(names(older.items), names(now.items), 'exact at an older revision: from the datastore, as it was');
  t.equal(older.resourceVersion, String(rv));

  // Pages: the first from the cache, the next at the same revision although the cache moved on.
  const p1 = await objects.list(configMaps, 'a', { limit: 2 });
  t.same(names(p1.items), ['a/cm-2', 'a/cm-3']);
  t.ok(p1.continue);
  await cm('a', 'cm-25');
  const p2 = await objects.list(configMaps, 'a', { limit: 2, continue: p1.continue });
  t.same(names(p2.items), ['a/cm-4'], 'the next page is of the first page’s revision');
  t.equal(p2.continue, undefined);
  t.equal(p2.resourceVersion, p1.resourceVersion);
  const q = { limit: 1, labelSelector: 'even=true' };
  const s1 = await objects.list(configMaps, 'a', q);
  const s2 = await objects.list(configMaps, 'a', { ...q, continue: s1.continue });
  t.same([...names(s1.items), ...names(s2.items)], ['a/cm-2', 'a/cm-4'], 'limit counts matching objects');

  const p3 = await objects.list(configMaps, 'a', { limit: 1 });
  await cm('a', 'cm-9');
  await store.compact();
  await t.rejects(objects.list(configMaps, 'a', { limit: 1, continue: p3.continue }), { code: 410 }, 'a compacted page: 410');
  await t.rejects(objects.list(configMaps, 'a', { continue: 'garbage' }), { code: 400 });
  await t.rejects(objects.list(configMaps, 'a', { resourceVersion: String(rv), resourceVersionMatch: 'Exact' }), { code: 410 });
});

t.test('watches: initial state, selectors, resume inside the window, the datastore before it, 410 when compacted', async (t) => {
  const { store, objects, cm } = await setup(t);
  const created = await cm('a', 'w1', { app: 'x' });
  await cm('b', 'w2', { app: 'x' });
  const all = await objects.watch(configMaps, 'a', { labelSelector: 'app=x' });
  const it = events(all);
  t.same(await next(it), [`ADDED w1 ${created.metadata.resourceVersion}`], 'initial state of the namespace');
  const moved = await objects.update(configMaps, 'a', 'w1', { ...structuredClone(created), metadata: { ...created.metadata, labels: {} } });
  t.same(await next(it), [`DELETED w1 ${moved.metadata.resourceVersion}`], 'leaving the selection is a deletion');
  const w3 = await cm('a', 'w3', { app: 'x' });
  await cm('b', 'w4', { app: 'x' });
  t.same(await next(it), [`ADDED w3 ${w3.metadata.resourceVersion}`], 'another namespace is not seen');
  await objects.remove(configMaps, w3);
  t.match(await next(it), [/^DELETED w3 \d+$/]);
  all.close();

  const resumed = await objects.watch(configMaps, 'a', { resourceVersion: created.metadata.resourceVersion });
  const rit = events(resumed);
  t.same((await next(rit))[0], `MODIFIED w1 ${moved.metadata.resourceVersion}`, 'resumed from the cache’s window');
  resumed.close();

  // Push the first events out of the cache's window: the datastore replays them.
  for (let i = 0; i < 1100; i++)
    await store.update('/registry/configmaps/b/w2', Buffer.from(JSON.stringify({ ...w3, metadata: { name: 'w2', namespace: 'b' } })));
  const old = await objects.watch(configMaps, 'a', { resourceVersion: created.metadata.resourceVersion });
  t.same((await next(events(old)))[0], `MODIFIED w1 ${moved.metadata.resourceVersion}`, 'older than the window: from the datastore');
  old.close();
  await store.compact();
  await t.rejects(objects.watch(configMaps, 'a', { resourceVersion: created.metadata.resourceVersion }), {
    code: 410,
    message: /too old resource version/,
  });
});

t.test('Secrets: decrypted in the cache, encrypted in the datastore; unreadable without the key', async (t) => {
  const key = { name: 'k1', secret: randomBytes(32).toString('base64') };
  const transformers = new EncryptionTransformers(configWith(['secrets'], [{ aescbc: { keys: [key] } }, { identity: {} }]));
  const { store, objects } = await setup(t, transformers);
  await objects.create(secrets, 'a', { metadata: { name: 's1' }, data: { password: Buffer.from('hunter2').toString('base64') } });
  const listed = await objects.list(secrets, 'a');
  t.equal(
    (listed.items[0] as StoredObject & { data: { password: string } }).data.password,
    Buffer.from('hunter2').toString('base64'),
    'read decrypted',
  );
  const stored = await store.get('/registry/secrets/a/s1');
  t.ok(stored!.value.toString().startsWith('k8s:enc:aescbc:v1:k1:'), 'stored encrypted');
  t.notOk(stored!.value.includes(Buffer.from('aHVudGVy')), 'no plaintext in the datastore');
  // Read without the key (as a server started without the config): its cache holds the error.
  const blind = new ObjectStore(store);
  await t.rejects(blind.list(secrets, 'a'), /encrypted .*k1/);
  await t.rejects(blind.get(secrets, 'a', 's1'), /encrypted .*k1/);
});
