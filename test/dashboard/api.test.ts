// The browser's API client: a live list over the in-process API server (list, then watch), a
// relist when the watch expired, and a forbidden list reported with the server's message.
import t from 'tap';
import { ApiClient, ApiRequestError, type FetchFn } from '../../src/dashboard/api.js';
import type { KubeObject } from '../../src/dashboard/watch-stream.js';
import { admin, apiHarness } from '../apiserver/harness.js';
import { eventually } from '../helpers/eventually.js';

t.test('a live list follows creates and deletes through its watch', async (t) => {
  const h = await apiHarness(t);
  const seen: { token?: string } = {};
  const fetchFn: FetchFn = async (path, init) => {
    seen.token = new Headers(init?.headers).get('authorization') ?? undefined;
    return h.app.fetch(new Request(`https://skiff.test${path}`, init), { user: admin });
  };
  const api = new ApiClient('the-token', fetchFn);
  await h.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'first' } });
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  let names: string[] = [];
  const errors: Error[] = [];
  const done = api.liveList<KubeObject>(
    '/api/v1/namespaces/default/configmaps',
    (items) => (names = items.map((i) => i.metadata.name)),
    (err) => errors.push(err),
    stop.signal,
  );
  await eventually(() => names.includes('first'), { what: 'the listed config map' });
  t.equal(seen.token, 'Bearer the-token', 'the token goes with every request');
  await h.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'second' } });
  await eventually(() => names.includes('second'), { what: 'the created config map, through the watch' });
  await h.request('DELETE', '/api/v1/namespaces/default/configmaps/first');
  await eventually(() => !names.includes('first'), { what: 'the deleted config map gone' });
  t.same(
    names.filter((n) => n !== 'kube-root-ca.crt'),
    ['second'],
  );
  stop.abort();
  await done;
  t.same(errors, [], 'no errors');
});

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

t.test('an expired watch lists again from scratch', async (t) => {
  const calls: string[] = [];
  const lists = [
    { metadata: { resourceVersion: '5' }, items: [{ metadata: { name: 'old' } }] },
    { metadata: { resourceVersion: '9' }, items: [{ metadata: { name: 'new' } }] },
  ];
  const fetchFn: FetchFn = async (path) => {
    calls.push(path);
    if (!path.includes('watch=true')) return json(lists.shift() ?? { metadata: {}, items: [] });
    if (calls.length === 2)
      return new Response(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'gone' } })}\n`);
    return new Response(new ReadableStream()); // a watch that stays open
  };
  const stop = new AbortController();
  const views: string[][] = [];
  const done = new ApiClient('x', fetchFn).liveList(
    '/api/v1/pods',
    (items) => views.push(items.map((i) => i.metadata.name)),
    () => {},
    stop.signal,
  );
  await eventually(() => views.length === 2 && calls.length === 4, { what: 'the relist and its watch' });
  t.same(views, [['old'], ['new']]);
  t.match(calls[1], /watch=true.*resourceVersion=5/);
  t.match(calls[3], /watch=true.*resourceVersion=9/, 'the new watch starts from the new list');
  stop.abort();
  await done;
});

t.test("a forbidden list is an error carrying the server's message", async (t) => {
  const fetchFn: FetchFn = async () =>
    json({ kind: 'Status', code: 403, reason: 'Forbidden', message: 'pods is forbidden: User "x" cannot list resource "pods"' }, 403);
  const stop = new AbortController();
  let error: Error | undefined;
  const done = new ApiClient('x', fetchFn).liveList(
    '/api/v1/pods',
    () => {},
    (err) => {
      error = err;
      stop.abort();
    },
    stop.signal,
  );
  await done;
  t.type(error, ApiRequestError);
  t.equal((error as ApiRequestError).status, 403);
  t.match(error!.message, /cannot list resource "pods"/);
});
