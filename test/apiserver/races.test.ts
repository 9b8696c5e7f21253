// Server-side read-modify-writes apply to the latest object when another writer gets there first
// (kube-apiserver's guaranteed update): a client sees 409 Conflict only for what it asked for itself.
import t from 'tap';
import { apiHarness, type Harness } from './harness.js';

const cm = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...extra },
  data: { a: '1' },
});
const url = (name: string) => `/api/v1/namespaces/default/configmaps/${name}`;

/** Makes the next `times` datastore writes lose a race: another writer changes the object first. */
function interfere(h: Harness, name: string, times: number): { count: number } {
  const store = h.objects.store;
  const seen = { count: 0 };
  for (const op of ['update', 'delete'] as const) {
    const original = store[op].bind(store) as (...args: unknown[]) => Promise<unknown>;
    (store as unknown as Record<string, unknown>)[op] = async (...args: unknown[]) => {
      if (seen.count < times && String(args[0]).endsWith(`/${name}`)) {
        seen.count++;
        const current = await h.request('GET', url(name));
        const bumped = { ...current.body, metadata: { ...current.body.metadata, labels: { bump: String(seen.count) } } };
        await store.update(String(args[0]), Buffer.from(JSON.stringify(bumped)), Number(current.body.metadata.resourceVersion));
      }
      return original(...args);
    };
  }
  return seen;
}

t.test('DELETE without preconditions wins over a concurrent writer', async (t) => {
  const h = await apiHarness(t);
  await h.request('POST', '/api/v1/namespaces/default/configmaps', cm('plain'));
  await h.request('POST', '/api/v1/namespaces/default/configmaps', cm('held', { finalizers: ['example.com/hold'] }));
  const seen = interfere(h, 'plain', 3);
  const deleted = await h.request('DELETE', url('plain'), { propagationPolicy: 'Background' });
  t.equal(deleted.status, 200, 'removed although three writes came in between');
  t.equal(seen.count, 3);
  t.equal((await h.request('GET', url('plain'))).status, 404);

  interfere(h, 'held', 2);
  const marked = await h.request('DELETE', url('held'));
  t.equal(marked.status, 202, 'an object with finalizers is marked for deletion, race or not');
  t.ok(marked.body.metadata.deletionTimestamp);
});

t.test('DELETE with a stale resourceVersion precondition is a conflict', async (t) => {
  const h = await apiHarness(t);
  const created = await h.request('POST', '/api/v1/namespaces/default/configmaps', cm('pinned'));
  await h.request('PATCH', url('pinned'), { data: { a: '2' } }, { 'content-type': 'application/merge-patch+json' });
  const refused = await h.request('DELETE', url('pinned'), { preconditions: { resourceVersion: created.body.metadata.resourceVersion } });
  t.equal(refused.status, 409);
  t.match(refused.body, { reason: 'Conflict', message: /Precondition failed: ResourceVersion in precondition/ });
  t.equal((await h.request('GET', url('pinned'))).status, 200, 'nothing was deleted');
});

t.test('unconditional PUT and PATCH apply to the latest object; a pinned PUT conflicts', async (t) => {
  const h = await apiHarness(t);
  const created = await h.request('POST', '/api/v1/namespaces/default/configmaps', cm('x'));
  interfere(h, 'x', 2);
  const { resourceVersion: _rv, ...meta } = created.body.metadata;
  const put = await h.request('PUT', url('x'), { ...created.body, metadata: meta, data: { a: 'put' } });
  t.equal(put.status, 200, 'a PUT without resourceVersion is retried against the latest object');
  t.equal(put.body.data.a, 'put');
  t.equal(put.body.metadata.labels, undefined, "the unconditional PUT replaced the racing writer's labels, as upstream");

  interfere(h, 'x', 2);
  const patched = await h.request('PATCH', url('x'), { data: { b: 'patch' } }, { 'content-type': 'application/merge-patch+json' });
  t.equal(patched.status, 200);
  t.match(
    patched.body,
    { data: { a: 'put', b: 'patch' }, metadata: { labels: { bump: '2' } } },
    'the patch applied over both racing writes',
  );

  interfere(h, 'x', 1);
  const pinned = await h.request('PUT', url('x'), { ...patched.body, data: { a: 'pinned' } });
  t.equal(pinned.status, 409, 'a PUT that names the resourceVersion it read conflicts when it lost the race');
  t.match(pinned.body, { reason: 'Conflict', message: /the object has been modified/ });
});

t.test('boolean query parameters are read as Go reads them', async (t) => {
  const h = await apiHarness(t);
  await h.request('POST', '/api/v1/namespaces/default/configmaps', cm('q'));
  for (const value of ['True', '1', 't', 'TRUE']) {
    const res = await h.raw('GET', `/api/v1/namespaces/default/configmaps?watch=${value}&resourceVersion=0`, undefined, {});
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    t.match(JSON.parse(first.split('\n')[0]!), { type: 'ADDED', object: { metadata: { name: 'q' } } }, `watch=${value} watches`);
    await reader.cancel();
  }
  for (const value of ['False', '0', 'f']) {
    const res = await h.request('GET', `/api/v1/namespaces/default/configmaps?watch=${value}`);
    t.equal(res.body.kind, 'ConfigMapList', `watch=${value} lists`);
  }
  for (const param of ['watch', 'allowWatchBookmarks', 'pretty', 'sendInitialEvents']) {
    const res = await h.request('GET', `/api/v1/namespaces/default/configmaps?${param}=yes`);
    t.equal(res.status, 400, `${param}=yes is refused`);
    t.match(res.body, { kind: 'Status', reason: 'BadRequest', message: new RegExp(`query parameter ${param}: "yes"`) });
  }
});
