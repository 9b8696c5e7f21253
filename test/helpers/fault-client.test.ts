import t from 'tap';
import { inProcessTransport, type Transport } from '../../src/client/transport.js';
import { admin, apiHarness } from '../apiserver/harness.js';
import { eventually } from './eventually.js';
import { RegisterWorkload, type RecordedOperation } from './fault-client.js';
import { checkRegisters } from './linearizability.js';

/** The kinds of answers in a history: 'read absent', 'read value', 'write', 'cas true', 'create exists', ... */
function answers(history: RecordedOperation[]): Set<string> {
  const kind = (op: RecordedOperation) =>
    op.f === 'read' ? (op.result === null ? 'read absent' : 'read value') : op.f === 'write' ? 'write' : `${op.f} ${op.result}`;
  return new Set(history.filter((op) => op.outcome === 'ok').map(kind));
}

t.test('against one API reached as two servers: every answer recorded, the history linearizable', async (t) => {
  const h = await apiHarness(t);
  await h.request('POST', '/api/v1/namespaces', { metadata: { name: 'registers' } });
  const transport = inProcessTransport(h.app, admin);
  const workload = new RegisterWorkload({
    targets: [
      { name: 'a', transport },
      { name: 'b', transport },
    ],
    namespace: 'registers',
    keys: 3,
  });
  const empty = await workload.readBack();
  t.ok(empty.length === 6 && empty.every((b) => b.value === null), 'before the workload, every key reads absent everywhere');
  workload.start();
  const wanted = ['read absent', 'read value', 'write', 'cas true', 'cas false', 'create ok', 'create exists'];
  await eventually(() => workload.counts().ok >= 300 && wanted.every((k) => answers(workload.history).has(k)), {
    what: 'every kind of answer',
    explain: () => [...answers(workload.history)].join(', '),
  });
  await workload.stop();
  t.equal(workload.counts().unknown, 0, 'nothing went unanswered');
  t.ok(
    workload.history.filter((op) => op.outcome === 'failed').every((op) => op.f === 'write' && /^404 /.test(op.error ?? '')),
    'the only failures are writes before the key was created',
  );
  t.ok(workload.counts('a').ok > 0 && workload.counts('b').ok > 0, 'both servers were used');

  const back = await workload.readBack();
  t.equal(back.length, 6, 'each key from each server');
  for (const key of workload.keys) {
    const seen = back.filter((b) => b.key === key);
    t.ok(seen[0]!.value, `${key} was written`);
    t.same(seen[1], { ...seen[0], target: 'b' }, `${key}: both servers agree`);
  }
  const result = checkRegisters(workload.history);
  t.ok(result.ok, result.ok ? 'linearizable' : result.message);

  // A write acknowledged and then lost: one key quietly set back to its first value, unrecorded.
  const key = workload.keys[0]!;
  const object = (await h.request('GET', `/api/v1/namespaces/registers/configmaps/${key}`)).body;
  const first = workload.history.find((op) => op.key === key && op.outcome === 'ok' && op.f === 'write' && op.value !== object.data.value);
  const reset = { ...object, data: { value: (first as { value: string }).value } };
  t.equal((await h.request('PUT', `/api/v1/namespaces/registers/configmaps/${key}`, reset)).status, 200);
  await workload.readBack();
  const lost = checkRegisters(workload.history);
  t.match(lost, { ok: false, key, inconclusive: false }, 'the checker sees it in the read back');
});

t.test('a call with no answer is unknown, a refused one failed, and the workers go on', async (t) => {
  const h = await apiHarness(t);
  await h.request('POST', '/api/v1/namespaces', { metadata: { name: 'registers' } });
  // Like a paused server: the request is sent, nothing comes back until the client gives up.
  const paused: Transport = (_method, _path, init) =>
    new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
  const refused: Transport = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  };
  const failing: Transport = async () =>
    Response.json({ kind: 'Status', status: 'Failure', reason: 'InternalError', message: 'database gone', code: 500 }, { status: 500 });
  const workload = new RegisterWorkload({
    targets: [
      { name: 'good', transport: inProcessTransport(h.app, admin) },
      { name: 'paused', transport: paused },
      { name: 'deaf', transport: () => new Promise(() => {}) },
      { name: 'refused', transport: refused },
      { name: 'failing', transport: failing },
    ],
    namespace: 'registers',
    keys: 2,
    workers: 3,
    callTimeoutMs: 50,
  });
  workload.start();
  await eventually(
    () => workload.counts('good').ok >= 30 && workload.counts('deaf').unknown >= 3 && workload.counts('paused').unknown >= 3,
    {
      what: 'calls to every server',
    },
  );
  await workload.stop();
  t.match(workload.counts('paused'), { ok: 0, failed: 0, unknown: Number }, 'no answer: unknown');
  t.match(workload.counts('deaf'), { ok: 0, failed: 0 }, 'also from a transport that ignores the abort');
  t.match(workload.counts('refused'), { ok: 0, unknown: 0 }, 'connection refused: failed');
  t.ok(workload.counts('refused').failed > 0);
  t.match(workload.counts('failing'), { ok: 0, failed: 0 }, 'a 500: unknown');
  t.ok(workload.counts('failing').unknown > 0);
  const paused0 = workload.history.find((op) => op.target === 'paused')!;
  t.match(paused0.error, /no answer from paused within 50 ms/);
  t.match(workload.history.find((op) => op.target === 'failing')?.error, /^500 InternalError: database gone/);
  const result = checkRegisters(workload.history);
  t.ok(result.ok, result.ok ? 'linearizable' : result.message);
});
