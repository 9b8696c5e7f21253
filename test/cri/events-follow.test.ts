// Following containerd's events without containerd: a fake client whose streams the test ends. The
// follower hands on the events it understands, says `connected` only once containerd has answered on
// the new subscription, subscribes again after the stream ends (containerd restarted) and cancels the
// stream when told to stop.
import { EventEmitter } from 'node:events';
import t from 'tap';
import type { CriClient } from '../../src/cri/client.js';
import { followEvents, type RuntimeEvent } from '../../src/cri/events.js';
import { eventually } from '../helpers/eventually.js';

class FakeStream extends EventEmitter {
  cancelled = false;
  cancel() {
    this.cancelled = true;
    this.emit('error', new Error('cancelled'));
  }
}

function fakeCri() {
  const streams: FakeStream[] = [];
  let up = true;
  const cri = {
    subscribeEvents: () => {
      const s = new FakeStream();
      streams.push(s);
      return s;
    },
    version: () => (up ? Promise.resolve({}) : Promise.reject(new Error('down'))),
  };
  return { cri: cri as unknown as CriClient, streams, setUp: (v: boolean) => (up = v) };
}

t.test('events are handed on; a new subscription after the stream ends; the stop cancels it', async (t) => {
  const { cri, streams, setUp } = fakeCri();
  const events: RuntimeEvent[] = [];
  let connected = 0;
  const stop = new AbortController();
  followEvents(cri, { event: (e) => events.push(e), connected: () => connected++ }, stop.signal);
  await eventually(() => connected === 1, { timeout: 5000, what: 'the first subscription' });

  streams[0]!.emit('data', { topic: '/tasks/exit', event: { containerId: 'c1', id: 'c1', exitStatus: 1 } });
  streams[0]!.emit('data', { topic: '/tasks/exit', event: { containerId: 'c1', id: 'exec-7' } });
  streams[0]!.emit('data', { topic: '/tasks/start', event: { containerId: 'c2' } });
  streams[0]!.emit('data', { topic: '/snapshot/prepare', event: {} });
  t.same(events, [
    { topic: '/tasks/exit', containerId: 'c1', init: true },
    { topic: '/tasks/exit', containerId: 'c1', init: false },
    { topic: '/tasks/start', containerId: 'c2' },
  ]);

  // containerd goes away: the stream ends and the next subscription is not there until it answers.
  setUp(false);
  streams[0]!.emit('error', new Error('UNAVAILABLE'));
  await eventually(() => streams.length >= 2 && streams[1]!.cancelled, { timeout: 5000, what: 'a subscription containerd did not answer' });
  t.equal(connected, 1, 'not connected while containerd does not answer');
  setUp(true);
  await eventually(() => connected === 2, { timeout: 10_000, what: 'a new subscription once containerd answers' });

  stop.abort();
  t.ok(streams.at(-1)!.cancelled, 'the stop cancels the stream');
});
