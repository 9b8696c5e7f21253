import t from 'tap';
import { admin, apiHarness } from '../apiserver/harness.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport, type Transport } from '../../src/client/transport.js';
import { configMaps, events, pods } from '../../src/client/resources.js';
import { ApiError, isConflict, isNotFound } from '../../src/k8s/errors.js';
import { Informer, keyOf } from '../../src/client/informer.js';
import { EventRecorder } from '../../src/client/event-recorder.js';
import { SharedInformers } from '../../src/client/shared-informers.js';
import { eventually } from '../helpers/eventually.js';

const cm = (name: string, data: Record<string, string> = { a: '1' }) => ({ metadata: { name, namespace: 'default' }, data });

t.test('typed REST client: CRUD, status, patches, errors, watch', async (t) => {
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin), 'client-test');
  const maps = api.resource(configMaps);

  const created = await maps.create(cm('one'));
  t.match(created.metadata, { name: 'one', namespace: 'default', uid: /^[0-9a-f-]{36}$/ });
  t.equal((await maps.get('default', 'one')).data?.a, '1');
  t.same(
    (await maps.list('default')).items.map((i) => i.metadata?.name),
    ['one'],
  );

  created.data = { a: '2' };
  const updated = await maps.update(created);
  t.equal(updated.data?.a, '2');
  const stale = await maps.update(created).catch((e) => e);
  t.ok(isConflict(stale), 'a stale update is a conflict');
  t.match(stale.message, /the object has been modified/);

  t.equal((await maps.patch('default', 'one', { data: { b: '3' } })).data?.b, '3');
  t.equal((await maps.patch('default', 'one', [{ op: 'remove', path: '/data/b' }], 'json')).data?.b, undefined);
  const applied = await maps.patch(
    'default',
    'one',
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one' }, data: { c: '4' } }),
    'apply',
  );
  t.equal(applied.data?.c, '4');
  t.ok(
    applied.metadata?.managedFields?.some((f) => f.manager === 'client-test' && f.operation === 'Apply'),
    'writes as its field manager',
  );

  const missing = await maps.get('default', 'nope').catch((e) => e);
  t.ok(missing instanceof ApiError && isNotFound(missing));
  t.equal(missing.message, 'configmaps "nope" not found');

  const pod = await api
    .resource(pods)
    .create({ metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  pod.status = { ...pod.status, phase: 'Running' };
  t.equal((await api.resource(pods).updateStatus(pod)).status?.phase, 'Running');

  const abort = new AbortController();
  const seen: string[] = [];
  const watching = (async () => {
    for await (const e of maps.watch('default', { resourceVersion: created.metadata!.resourceVersion, signal: abort.signal })) {
      seen.push(`${e.type} ${e.object.metadata?.name}`);
      if (e.type === 'DELETED') abort.abort();
    }
  })();
  await maps.delete('default', 'one');
  await watching;
  t.same(seen.slice(-1), ['DELETED one']);
  t.ok(seen.filter((s) => s === 'MODIFIED one').length >= 3, 'watch saw the updates since the revision asked for');
});

t.test('informer: cache, handlers, resuming, relisting after 410 Gone', async (t) => {
  const h = await apiHarness(t);
  const base = inProcessTransport(h.app, admin);
  const api = new ApiClient(base);
  const maps = api.resource(configMaps);
  await maps.create(cm('a'));
  await maps.create(cm('b'));

  // The first watch is answered 410 after b was deleted behind the informer's back. Lists and
  // watches are counted.
  let watches = 0;
  let lists = 0;
  const gone: Transport = async (method, path, init) => {
    if (path.includes('watch=true')) {
      if (watches++ === 0) {
        await maps.delete('default', 'b');
        return new Response(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'Expired',
            code: 410,
            message: 'too old resource version',
          }),
          { status: 410 },
        );
      }
    } else if (method === 'GET' && path.split('?')[0]!.endsWith('/configmaps')) lists++;
    return base(method, path, init);
  };
  const informer = new Informer(new ApiClient(gone).resource(configMaps), { namespace: 'default', watchTimeoutSeconds: 1 });
  const log: string[] = [];
  informer.on({
    add: (o) => log.push(`add ${keyOf(o)}`),
    update: (_o, n) => log.push(`update ${keyOf(n)} ${n.data?.a}`),
    delete: (o) => log.push(`delete ${keyOf(o)}`),
  });
  informer.start();
  t.teardown(() => informer.stop());
  await informer.synced();
  t.same(log.slice(0, 2).sort(), ['add default/a', 'add default/b']);

  const logged = async (what: string) =>
    t.ok(await eventually(() => log.includes(what), { what, timeout: 10_000, explain: () => log.join('\n') }), what);
  await logged('delete default/b');
  t.equal(informer.get('default/b'), undefined);
  t.equal(lists, 2, 'the 410 made the informer list again');

  await maps.create(cm('c'));
  await logged('add default/c');
  await maps.patch('default', 'a', { data: { a: '9' } });
  await logged('update default/a 9');
  // The 1 s server-side watch ends; the informer resumes from its revision without a relist.
  const watching = watches;
  await eventually(() => watches > watching, { what: 'the watch to end and be renewed' });
  t.equal(lists, 2, 'no list when a watch ends: it resumes');
  await maps.delete('default', 'c');
  await logged('delete default/c');
  t.same(informer.list().map(keyOf).sort(), ['default/a']);
  t.same(informer.list('default').map(keyOf), ['default/a'], 'listing by namespace uses the namespace index');
  informer.addIndex('value', (o) => [o.data?.a ?? '']);
  t.same(informer.byIndex('value', '9').map(keyOf), ['default/a'], 'an index added late covers what is cached');
  await maps.patch('default', 'a', { data: { a: '10' } });
  await logged('update default/a 10');
  t.same(informer.byIndex('value', '9'), [], 'and follows updates');
  t.same(informer.byIndex('value', '10').map(keyOf), ['default/a']);
  t.equal(log.filter((l) => l === 'add default/a').length, 1, 'no duplicate adds from resuming');
  t.equal(lists, 2, 'and no list since the 410');
});

t.test('event recorder: events for describe, repeats counted', async (t) => {
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  const obj = await api.resource(configMaps).create(cm('subject'));
  const recorder = new EventRecorder(api, 'test-controller', 'node-1');
  recorder.event({ ...obj, apiVersion: 'v1', kind: 'ConfigMap' }, 'Normal', 'Poked', 'poked once');
  // The first one is written before it repeats.
  await eventually(async () => (await api.resource(events).list('default')).items.length === 1, { what: 'the first event' });
  recorder.event({ ...obj, apiVersion: 'v1', kind: 'ConfigMap' }, 'Normal', 'Poked', 'poked once');
  recorder.event({ ...obj, apiVersion: 'v1', kind: 'ConfigMap' }, 'Warning', 'Failed', 'it broke');
  const list = await eventually(
    async () => {
      const l = await api.resource(events).list('default');
      return l.items.length >= 2 && l.items.some((e) => e.count === 2) ? l : undefined;
    },
    { what: 'the repeat counted and the second event' },
  );
  const poked = list.items.find((e) => e.reason === 'Poked')!;
  t.match(poked, {
    type: 'Normal',
    message: 'poked once',
    count: 2,
    involvedObject: { kind: 'ConfigMap', name: 'subject', uid: obj.metadata!.uid },
    source: { component: 'test-controller', host: 'node-1' },
  });
  t.match(
    list.items.find((e) => e.reason === 'Failed'),
    { type: 'Warning', count: 1 },
  );
});

t.test('shutdown while loops still start: a stopped informer releases its waiters, a late one never runs', async (t) => {
  const h = await apiHarness(t);
  let requests = 0;
  const counting: Transport = (method, path, init) => {
    requests++;
    return inProcessTransport(h.app, admin)(method, path, init);
  };
  const api = new ApiClient(counting);
  const early = new Informer(api.resource(configMaps));
  early.stop();
  await early.synced(); // would never resolve if stop() left waiters waiting for a first list
  t.pass('synced() resolves for an informer stopped before its first list');

  const shared = new SharedInformers(api);
  shared.for(pods).start();
  await shared.synced();
  shared.stop();
  const before = requests;
  const late = shared.for(configMaps).start(); // a controller asking during shutdown, as the garbage collector did
  await late.synced();
  t.equal(requests, before, 'an informer asked for after stop() makes no request');
});
