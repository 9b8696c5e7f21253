// A list and its watch merged as an informer's store does.
import t from 'tap';
import { LiveList, WatchExpired } from '../../src/dashboard/live-list.js';
import type { KubeObject } from '../../src/dashboard/watch-stream.js';

const pod = (ns: string, name: string, rv: string, phase = 'Pending'): KubeObject => ({
  metadata: { namespace: ns, name, resourceVersion: rv },
  status: { phase },
});
const names = (l: LiveList) => l.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}:${(o.status as { phase: string }).phase}`);

t.test('the list, then adds, changes and deletes in order; the resourceVersion follows', async (t) => {
  const live = new LiveList();
  live.reset({ metadata: { resourceVersion: '10' }, items: [pod('b', 'x', '9'), pod('a', 'y', '8')] });
  t.same(names(live), ['a/y:Pending', 'b/x:Pending'], 'sorted by namespace, then name');
  t.equal(live.resourceVersion, '10');
  t.ok(live.apply({ type: 'ADDED', object: pod('a', 'z', '11') }));
  t.ok(live.apply({ type: 'MODIFIED', object: pod('b', 'x', '12', 'Running') }));
  t.ok(live.apply({ type: 'DELETED', object: pod('a', 'y', '13') }));
  t.same(names(live), ['a/z:Pending', 'b/x:Running']);
  t.equal(live.resourceVersion, '13');
  t.notOk(live.apply({ type: 'DELETED', object: pod('a', 'gone', '14') }), 'deleting what is not there changes nothing');
  t.notOk(live.apply({ type: 'BOOKMARK', object: { metadata: { name: '', resourceVersion: '20' } } }), 'a bookmark only moves on');
  t.equal(live.resourceVersion, '20');
  t.same(names(live), ['a/z:Pending', 'b/x:Running']);
});

t.test('a same name in two namespaces is two objects; a new list replaces everything', async (t) => {
  const live = new LiveList();
  live.reset({ metadata: {}, items: [pod('a', 'x', '1'), pod('b', 'x', '2')] });
  t.equal(live.items.length, 2);
  live.reset({ metadata: { resourceVersion: '5' }, items: [pod('c', 'q', '5')] });
  t.same(names(live), ['c/q:Pending']);
});

t.test('an expired watch asks for a new list; other errors say what failed', async (t) => {
  const live = new LiveList();
  const status = (code: number, message: string) => ({ metadata: { name: '' }, kind: 'Status', code, message });
  const expired = t.throws(() => live.apply({ type: 'ERROR', object: status(410, 'too old resource version') }));
  t.type(expired, WatchExpired, '410 Gone is an expired watch');
  t.throws(() => live.apply({ type: 'ERROR', object: status(500, 'boom') }), /boom/);
});
