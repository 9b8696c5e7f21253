import t from 'tap';
import { WorkQueue } from '../../src/client/workqueue.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** Lets every promise reaction that is due run (what a queue hands out, it hands out without a timer). */
const settle = () => new Promise((r) => setImmediate(r));

t.test('a key is queued once and never handed out twice at the same time', async (t) => {
  const q = new WorkQueue<string>();
  q.add('a');
  q.add('b');
  q.add('a');
  t.equal(q.length, 2);
  const first = await q.get();
  t.equal(first, 'a');
  q.add('a'); // re-added while in flight: waits until done
  t.equal(await q.get(), 'b');
  t.equal(q.length, 0);
  const pending = q.get();
  let got: string | undefined;
  void pending.then((k) => (got = k));
  await settle();
  t.equal(got, undefined, 'a is not handed out while still being processed');
  q.done('a');
  t.equal(await pending, 'a', 'and comes back once done');
  q.done('a');
  q.done('b');
  q.shutdown();
  t.equal(await q.get(), undefined, 'get answers undefined after shutdown');
});

t.test('failed keys come back with exponential backoff; forget resets it', async (t) => {
  const clock = new ManualClock();
  const q = new WorkQueue<string>(clock);
  const times: number[] = [];
  const start = clock.now();
  q.add('k');
  for (let i = 0; i < 5; i++) {
    let key: string | undefined;
    const next = q.get().then((k) => (key = k));
    // A millisecond at a time until the key is back.
    for (await settle(); key === undefined && clock.now() - start < 1000; await settle()) clock.advance(1);
    await next;
    times.push(clock.now() - start);
    q.addRateLimited(key!);
    q.done(key!);
  }
  t.equal(q.requeues('k'), 5);
  // 5, 10, 20, 40 ms between attempts: at least 75 ms in all.
  t.ok(times[4]! - times[0]! >= 75, `retries were spaced out (${times.join(', ')} ms)`);
  t.same(times, [0, 5, 15, 35, 75], 'each after twice the wait of the one before');
  q.forget('k');
  t.equal(q.requeues('k'), 0);
  q.shutdown();
});

t.test('addAfter delays a key; shutdown cancels pending delays', async (t) => {
  const clock = new ManualClock();
  const q = new WorkQueue<string>(clock);
  q.addAfter('later', 30);
  clock.advance(29);
  await settle();
  t.equal(q.length, 0);
  clock.advance(1);
  await settle();
  t.equal(q.length, 1);
  q.addAfter('never', 20);
  q.shutdown();
  clock.advance(40);
  await settle();
  t.equal(q.length, 1, 'the cancelled key never arrived');
});
