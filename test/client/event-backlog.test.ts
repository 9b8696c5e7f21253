// The event recorder while no server answers: events wait in a backlog with the time they happened,
// and are written, with the time they happened, once a server answers again.
import t from 'tap';
import { admin, apiHarness } from '../apiserver/harness.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport, type Transport } from '../../src/client/transport.js';
import { EventRecorder } from '../../src/client/event-recorder.js';
import { configMaps, events } from '../../src/client/resources.js';
import { eventually } from '../helpers/eventually.js';

t.test('events recorded while the API cannot be reached are written when it can', async (t) => {
  const h = await apiHarness(t);
  const inner = inProcessTransport(h.app, admin);
  let down = false;
  const flaky: Transport = (method, path, init) => (down ? Promise.reject(new Error('no API server answered')) : inner(method, path, init));
  const api = new ApiClient(flaky);
  const obj = { ...(await api.resource(configMaps).create({ metadata: { name: 'subject', namespace: 'default' } })), kind: 'ConfigMap' };
  const recorder = new EventRecorder(api, 'kubelet', 'edge');
  down = true;
  recorder.event(obj, 'Warning', 'Unhealthy', 'Liveness probe failed');
  recorder.event(obj, 'Normal', 'Started', 'Started container app');
  const happened = Date.now();
  await new Promise((r) => setImmediate(r));
  down = false;
  // The next event that is written takes the backlog along.
  recorder.event(obj, 'Normal', 'Back', 'the server answers');
  const list = await eventually(
    async () => {
      const l = await api.resource(events).list('default');
      return l.items.length === 3 ? l : undefined;
    },
    { what: 'the three events' },
  );
  t.same(list.items.map((e) => e.reason).sort(), ['Back', 'Started', 'Unhealthy']);
  const unhealthy = list.items.find((e) => e.reason === 'Unhealthy')!;
  t.ok(Date.parse(unhealthy.firstTimestamp!) <= happened, 'with the time it happened, not the time it was written');
});
