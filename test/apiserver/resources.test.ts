import t from 'tap';
import { apiHarness } from './harness.js';
import { eventually } from '../helpers/eventually.js';

const cm = (name: string, data: Record<string, string> = { a: '1' }) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

t.test('create, get, list, update, delete a configmap', async (t) => {
  const h = await apiHarness(t);
  const created = await h.request('POST', '/api/v1/namespaces/default/configmaps', cm('one'));
  t.equal(created.status, 201);
  t.match(created.body, {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: 'one', namespace: 'default', uid: /^[0-9a-f-]{36}$/, resourceVersion: /^\d+$/ },
  });
  t.notOk(created.body.metadata.generation, 'no generation for kinds without spec');

  const got = await h.request('GET', '/api/v1/namespaces/default/configmaps/one');
  t.same(got.body, created.body);

  const listed = await h.request('GET', '/api/v1/namespaces/default/configmaps');
  t.equal(listed.body.kind, 'ConfigMapList');
  t.same(
    listed.body.items.map((i: any) => i.metadata.name),
    ['one'],
  );

  const stale = { ...created.body, data: { a: '2' } };
  const updated = await h.request('PUT', '/api/v1/namespaces/default/configmaps/one', stale);
  t.equal(updated.status, 200);
  t.equal(updated.body.data.a, '2');
  const conflict = await h.request('PUT', '/api/v1/namespaces/default/configmaps/one', stale);
  t.equal(conflict.status, 409);
  t.match(conflict.body, { kind: 'Status', reason: 'Conflict', message: /configmaps "one": the object has been modified/ });

  const deleted = await h.request('DELETE', '/api/v1/namespaces/default/configmaps/one');
  t.equal(deleted.status, 200);
  const gone = await h.request('GET', '/api/v1/namespaces/default/configmaps/one');
  t.equal(gone.status, 404);
  t.match(gone.body, { kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'configmaps "one" not found', code: 404 });
});

t.test('an update or apply that changes nothing writes nothing: the resourceVersion stays', async (t) => {
  const h = await apiHarness(t);
  const apply = (data: Record<string, string>) =>
    h.request('PATCH', '/api/v1/namespaces/default/configmaps/same?fieldManager=tool', cm('same', data), {
      'content-type': 'application/apply-patch+yaml',
    });
  const first = await apply({ a: '1' });
  t.equal(first.status, 201);
  const rv = first.body.metadata.resourceVersion;
  // managedFields' times have a resolution of a second: the second apply is made in a later one.
  const appliedAt = Date.parse(first.body.metadata.managedFields[0].time);
  await eventually(() => Date.now() >= appliedAt + 1000, { what: 'the next second' });
  const again = await apply({ a: '1' });
  t.equal(again.status, 200);
  t.equal(again.body.metadata.resourceVersion, rv, 'the same apply a second later: not even the managedFields time moves');
  t.same(again.body.metadata.managedFields, first.body.metadata.managedFields);
  const put = await h.request('PUT', '/api/v1/namespaces/default/configmaps/same', again.body);
  t.equal(put.body.metadata.resourceVersion, rv, 'an update with the object as read');
  const changed = await apply({ a: '2' });
  t.not(changed.body.metadata.resourceVersion, rv, 'a change is written');
  t.equal(changed.body.data.a, '2');
});

t.test('bad input gets a Status with the right code and stores nothing', async (t) => {
  const h = await apiHarness(t);
  const cases: [string, string, string | undefined, number, RegExp][] = [
    ['POST', '/api/v1/namespaces/default/configmaps', '{"kind": ', 400, /not valid JSON/],
    [
      'POST',
      '/api/v1/namespaces/default/configmaps',
      JSON.stringify({ ...cm('x'), kind: 'Secret' }),
      400,
      /kind in the data \(Secret\) does not match/,
    ],
    [
      'POST',
      '/api/v1/namespaces/default/configmaps',
      JSON.stringify({ ...cm('x'), metadata: { name: 'x', namespace: 'other' } }),
      400,
      /namespace of the provided object does not match/,
    ],
    [
      'POST',
      '/api/v1/namespaces/default/configmaps',
      JSON.stringify({ kind: 'ConfigMap', metadata: {} }),
      422,
      /name or generateName is required/,
    ],
    ['POST', '/api/v1/namespaces/nope/configmaps', JSON.stringify(cm('x')), 404, /namespaces "nope" not found/],
    [
      'POST',
      '/api/v1/namespaces/default/configmaps',
      JSON.stringify(cm('x', { big: 'x'.repeat(3 * 1024 * 1024) })),
      413,
      /larger than the limit/,
    ],
    ['GET', '/api/v1/namespaces/default/frobnicators', undefined, 404, /could not find the requested resource/],
  ];
  for (const [method, url, body, code, re] of cases) {
    const res = await h.raw(method, url, body, { 'content-type': 'application/json' });
    const status = await res.json();
    t.equal(res.status, code, `${method} ${url} ${body?.slice(0, 40)}`);
    t.match(status, { kind: 'Status', code, message: re });
  }
  const list = await h.request('GET', '/api/v1/configmaps');
  t.same(list.body.items, [], 'nothing was stored');
});

t.test('generateName, labels and field selectors, pagination', async (t) => {
  const h = await apiHarness(t);
  for (let i = 0; i < 5; i++) {
    await h.request('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { generateName: 'gen-', labels: { app: i % 2 ? 'odd' : 'even' } },
    });
  }
  const all = await h.request('GET', '/api/v1/namespaces/default/configmaps');
  t.equal(all.body.items.length, 5);
  t.ok(all.body.items.every((i: any) => /^gen-[a-z0-9]{5}$/.test(i.metadata.name)));
  const odd = await h.request('GET', '/api/v1/namespaces/default/configmaps?labelSelector=app%3Dodd');
  t.equal(odd.body.items.length, 2);
  const notOdd = await h.request('GET', '/api/v1/namespaces/default/configmaps?labelSelector=app!%3Dodd');
  t.equal(notOdd.body.items.length, 3);
  const name = all.body.items[0].metadata.name;
  const byName = await h.request('GET', `/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3D${name}`);
  t.same(
    byName.body.items.map((i: any) => i.metadata.name),
    [name],
  );
  const badField = await h.request('GET', '/api/v1/namespaces/default/configmaps?fieldSelector=spec.nope%3Dx');
  t.equal(badField.status, 400);

  const page1 = await h.request('GET', '/api/v1/namespaces/default/configmaps?limit=2');
  t.equal(page1.body.items.length, 2);
  t.ok(page1.body.metadata.continue);
  const page2 = await h.request('GET', `/api/v1/namespaces/default/configmaps?limit=2&continue=${page1.body.metadata.continue}`);
  t.equal(page2.body.items.length, 2);
  t.equal(page2.body.metadata.resourceVersion, page1.body.metadata.resourceVersion);
});

t.test('finalizers hold deletion until removed', async (t) => {
  const h = await apiHarness(t);
  await h.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'held', finalizers: ['example.com/hold'] } });
  const del = await h.request('DELETE', '/api/v1/namespaces/default/configmaps/held');
  t.equal(del.status, 202);
  t.ok(del.body.metadata.deletionTimestamp);
  const still = await h.request('GET', '/api/v1/namespaces/default/configmaps/held');
  t.equal(still.status, 200);
  const released = await h.request('PUT', '/api/v1/namespaces/default/configmaps/held', {
    ...still.body,
    metadata: { ...still.body.metadata, finalizers: [] },
  });
  t.equal(released.status, 200);
  t.equal((await h.request('GET', '/api/v1/namespaces/default/configmaps/held')).status, 404);
});

t.test('table output for kubectl get', async (t) => {
  const h = await apiHarness(t);
  await h.request('POST', '/api/v1/namespaces/default/configmaps', cm('t1', { a: '1', b: '2' }));
  const res = await h.request('GET', '/api/v1/namespaces/default/configmaps', undefined, {
    accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
  });
  t.equal(res.body.kind, 'Table');
  t.same(
    res.body.columnDefinitions.map((c: any) => c.name),
    ['Name', 'Data', 'Age'],
  );
  t.match(res.body.rows[0], {
    cells: ['t1', 2, /^\d+s$/],
    object: { kind: 'PartialObjectMetadata', metadata: { name: 't1', namespace: 'default' } },
  });
});

t.test('watch: initial state, live events, resume from a resourceVersion, 410 when compacted', async (t) => {
  const h = await apiHarness(t);
  const first = await h.request('POST', '/api/v1/namespaces/default/configmaps', cm('w1'));
  const res = await h.raw('GET', '/api/v1/namespaces/default/configmaps?watch=true');
  t.equal(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const next = async () => {
    while (!buffered.includes('\n')) buffered += decoder.decode((await reader.read()).value);
    const i = buffered.indexOf('\n');
    const line = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    return JSON.parse(line);
  };
  t.match(await next(), { type: 'ADDED', object: { metadata: { name: 'w1' } } });
  await h.request('POST', '/api/v1/namespaces/default/configmaps', cm('w2'));
  t.match(await next(), { type: 'ADDED', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'w2' } } });
  await h.request('DELETE', '/api/v1/namespaces/default/configmaps/w1');
  t.match(await next(), { type: 'DELETED', object: { metadata: { name: 'w1' } } });
  await reader.cancel();

  const resumed = await h.raw(
    'GET',
    `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${first.body.metadata.resourceVersion}`,
  );
  const text = await readLines(resumed, 2);
  t.same(
    text.map((e: any) => `${e.type} ${e.object.metadata.name}`),
    ['ADDED w2', 'DELETED w1'],
  );

  await h.objects.store.compact();
  const gone = await h.raw('GET', `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${first.body.metadata.resourceVersion}`);
  t.equal(gone.status, 410);
  t.match(await gone.json(), { kind: 'Status', code: 410, reason: 'Expired', message: /too old resource version/ });
});

async function readLines(res: Response, n: number): Promise<any[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (text.split('\n').length <= n) text += decoder.decode((await reader.read()).value);
  await reader.cancel();
  return text
    .split('\n')
    .slice(0, n)
    .map((l) => JSON.parse(l));
}

t.test('events expire: they are written on a lease of their TTL (one hour)', async (t) => {
  const h = await apiHarness(t);
  const event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'e1' },
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' },
    reason: 'Tested',
    message: 'm',
    type: 'Normal',
  };
  t.equal((await h.request('POST', '/api/v1/namespaces/default/events', event)).status, 201);
  t.equal((await h.request('POST', '/api/v1/namespaces/default/configmaps', cm('plain'))).status, 201);
  const events = h.registry.byResource('', 'v1', 'events')!;
  t.equal(events.ttlSeconds, 3600);
  t.ok((await h.objects.store.get('/registry/events/default/e1'))!.lease > 0, 'the event is on a lease');
  t.equal((await h.objects.store.get('/registry/configmaps/default/plain'))!.lease, 0, 'a configmap is not');

  // The same mechanism with a one-second TTL: the object is gone soon after.
  const shortLived = { ...events, ttlSeconds: 1 };
  await h.objects.create(shortLived, 'default', { ...event, metadata: { name: 'e2' } });
  const gone = await eventually(async () => (await h.objects.tryGet(shortLived, 'default', 'e2')) === undefined, {
    timeout: 10_000,
    what: 'the event to expire',
  });
  t.ok(gone, 'expired and deleted');
});
