import t from 'tap';
import { SchedulingQueue } from '../../src/scheduler/queue.js';
import type { PodT } from '../../src/scheduler/snapshot.js';

const pod = (name: string, priority = 0, created = '2026-01-01T00:00:00Z'): PodT => ({
  metadata: { name, namespace: 'default', creationTimestamp: created },
  spec: { priority, containers: [] },
});

const drain = async (q: SchedulingQueue, n: number) => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await q.pop())![0]);
  return out;
};

t.test('highest priority first, then the oldest, then the first to arrive', async (t) => {
  const q = new SchedulingQueue();
  q.add('late', pod('late', 0, '2026-01-02T00:00:00Z'));
  q.add('b', pod('b'));
  q.add('a', pod('a'));
  q.add('high', pod('high', 100, '2026-01-03T00:00:00Z'));
  q.add('low', pod('low', -5));
  t.same(await drain(q, 5), ['high', 'b', 'a', 'late', 'low']);
  q.close();
});

t.test('a removed pod is not popped; a newer copy replaces the old one in place', async (t) => {
  const q = new SchedulingQueue();
  for (const name of ['a', 'b', 'c']) q.add(name, pod(name));
  q.remove('b');
  const newer = { ...pod('a'), metadata: { ...pod('a').metadata, labels: { v: '2' } } };
  q.add('a', newer);
  const first = await q.pop();
  t.equal(first![1], newer, 'the latest copy');
  t.same(await drain(q, 1), ['c']);
  q.add('b', pod('b'));
  t.same(await drain(q, 1), ['b'], 'added again after its removal');
  q.close();
});

t.test('parked pods come back when the cluster changes; pop waits for work and ends when closed', async (t) => {
  const q = new SchedulingQueue();
  q.add('a', pod('a'));
  const [key, p] = (await q.pop())!;
  q.park(key, p);
  t.ok(q.isParked('a'));
  const waiting = q.pop();
  q.moveAllToActive();
  t.same((await waiting)![0], 'a');
  const ended = q.pop();
  q.close();
  t.equal(await ended, undefined);
});

t.test('many pods: the order holds through removals and re-adds', async (t) => {
  const q = new SchedulingQueue();
  const created = (i: number) => `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`;
  const names = Array.from({ length: 3000 }, (_, i) => `p${i}`);
  for (const [i, name] of names.entries()) q.add(name, pod(name, i % 3, created(i)));
  for (const name of names.filter((_, i) => i % 2)) q.remove(name);
  for (const name of names.filter((_, i) => i % 4 === 1)) q.add(name, pod(name, 1, created(Number(name.slice(1)))));
  // Pods left: the even ones as first added, and every fourth odd one re-added (arriving after all the others).
  const expected = names
    .map((name, i) => ({
      name,
      priority: i % 4 === 1 ? 1 : i % 3,
      created: created(i),
      arrival: i % 4 === 1 ? 3000 + i : i,
      kept: i % 2 === 0 || i % 4 === 1,
    }))
    .filter((e) => e.kept)
    .sort((a, b) => b.priority - a.priority || a.created.localeCompare(b.created) || a.arrival - b.arrival)
    .map((e) => e.name);
  t.same(await drain(q, expected.length), expected);
  q.close();
});
