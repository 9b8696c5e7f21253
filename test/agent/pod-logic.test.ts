// The agent's pod logic without containerd: phases and conditions, $(VAR) expansion, restart backoff,
// atomic volume files, CRI log reading. (The built-in pause binary: test/binary/pause.test.ts.)
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { writeAtomically } from '../../src/agent/pods/atomic-writer.js';
import { Backoff } from '../../src/agent/pods/backoff.js';
import { rotateLogs } from '../../src/agent/pods/log-rotation.js';
import { kubeletArgs } from '../../src/agent/kubelet-args.js';
import { containerLog } from '../../src/agent/pods/container-logs.js';
import { expand } from '../../src/agent/pods/env.js';
import { podStatus, type ContainerFacts } from '../../src/agent/pods/pod-status.js';
import type { ContainerInfo } from '../../src/agent/pods/runtime-view.js';
import { tempDir } from '../helpers/tmp.js';
import { ManualClock } from '../helpers/manual-clock.js';

const info = (over: Partial<ContainerInfo>): ContainerInfo => ({
  id: 'c1',
  sandboxId: 's1',
  name: 'app',
  restartCount: 0,
  state: 'CONTAINER_RUNNING',
  createdAt: 1,
  startedAt: '2026-01-01T00:00:00Z',
  finishedMs: 0,
  exitCode: 0,
  reason: '',
  message: '',
  image: 'img',
  imageRef: 'sha256:1',
  logPath: '',
  ...over,
});
const facts = (over: Partial<ContainerFacts>): ContainerFacts => ({ name: 'app', image: 'img', ready: false, started: false, ...over });
const pod = (restartPolicy: string, init = false) => ({
  metadata: { name: 'p', namespace: 'default', uid: 'u' },
  spec: { restartPolicy, containers: [{ name: 'app' }], ...(init ? { initContainers: [{ name: 'init' }] } : {}) },
  status: { conditions: [{ type: 'PodScheduled', status: 'True' }] },
});
const base = { podIPs: ['10.42.0.5'], hostIPs: ['192.0.2.1'], sandboxReady: true, init: [] };
const cond = (s: any, type: string) => s.conditions.find((c: any) => c.type === type);

t.test('pod status follows the kubelet: phases, states and conditions', async (t) => {
  const running = podStatus(pod('Always') as any, { ...base, containers: [facts({ latest: info({}), ready: true, started: true })] });
  t.equal(running.phase, 'Running');
  t.match(running, {
    podIP: '10.42.0.5',
    hostIP: '192.0.2.1',
    containerStatuses: [{ ready: true, containerID: 'containerd://c1', state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }],
  });
  t.equal(cond(running, 'Ready').status, 'True');
  t.equal(cond(running, 'PodScheduled').status, 'True', 'conditions of others are kept');

  const exited = info({ state: 'CONTAINER_EXITED', exitCode: 2, reason: 'Error', finishedAt: '2026-01-01T00:01:00Z' });
  const crashLoop = podStatus(pod('Always') as any, {
    ...base,
    containers: [facts({ latest: exited, waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } })],
  });
  t.equal(crashLoop.phase, 'Running', 'restarting after a failure counts as running');
  t.match(crashLoop.containerStatuses![0], {
    state: { waiting: { reason: 'CrashLoopBackOff' } },
    lastState: { terminated: { exitCode: 2, reason: 'Error' } },
  });
  t.match(cond(crashLoop, 'Ready'), { status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [app]' });

  t.equal(podStatus(pod('Never') as any, { ...base, containers: [facts({ latest: exited })] }).phase, 'Failed');
  t.equal(
    podStatus(pod('OnFailure') as any, { ...base, containers: [facts({ latest: info({ state: 'CONTAINER_EXITED', exitCode: 0 }) })] })
      .phase,
    'Succeeded',
  );
  const done = podStatus(pod('Never') as any, {
    ...base,
    containers: [facts({ latest: info({ state: 'CONTAINER_EXITED', exitCode: 0 }) })],
  });
  t.match(done, { phase: 'Succeeded', containerStatuses: [{ state: { terminated: { exitCode: 0, reason: 'Completed' } } }] });
  t.match(cond(done, 'Ready'), { status: 'False', reason: 'PodCompleted' });

  const initializing = podStatus(pod('Always', true) as any, {
    ...base,
    init: [facts({ name: 'init', latest: info({ name: 'init' }) })],
    containers: [facts({})],
  });
  t.equal(initializing.phase, 'Pending');
  t.match(cond(initializing, 'Initialized'), {
    status: 'False',
    reason: 'ContainersNotInitialized',
    message: 'containers with incomplete status: [init]',
  });
  t.match(initializing.containerStatuses![0], { state: { waiting: { reason: 'PodInitializing' } } });
  const initFailed = podStatus(pod('Never', true) as any, {
    ...base,
    init: [facts({ name: 'init', latest: info({ name: 'init', state: 'CONTAINER_EXITED', exitCode: 1 }) })],
    containers: [facts({})],
  });
  t.equal(initFailed.phase, 'Failed', 'a failed init container fails a pod that never restarts');

  // A sidecar counts as initialized once started, and does not keep a finished pod running.
  const withSidecar = {
    ...pod('Never'),
    spec: { restartPolicy: 'Never', containers: [{ name: 'app' }], initContainers: [{ name: 'side', restartPolicy: 'Always' }] },
  };
  const sidecarUp = facts({ name: 'side', latest: info({ id: 's', name: 'side' }), ready: true, started: true });
  const serving = podStatus(withSidecar as any, {
    ...base,
    init: [sidecarUp],
    containers: [facts({ latest: info({}), ready: true, started: true })],
  });
  t.match(serving, { phase: 'Running' });
  t.equal(cond(serving, 'Initialized').status, 'True');
  t.equal(
    podStatus(withSidecar as any, {
      ...base,
      init: [sidecarUp],
      containers: [facts({ latest: info({ state: 'CONTAINER_EXITED', exitCode: 0 }) })],
    }).phase,
    'Succeeded',
  );
  const sidecarNotReady = podStatus(withSidecar as any, {
    ...base,
    init: [{ ...sidecarUp, ready: false }],
    containers: [facts({ latest: info({}), ready: true, started: true })],
  });
  t.match(cond(sidecarNotReady, 'Ready'), { status: 'False', message: 'containers with unready status: [side]' });

  // Transition times stay while a condition holds.
  const again = podStatus({ ...pod('Always'), status: running } as any, {
    ...base,
    containers: [facts({ latest: info({}), ready: true, started: true })],
  });
  t.same(again.conditions, running.conditions);
});

t.test('$(VAR) expansion', async (t) => {
  const vars = new Map([
    ['A', 'one'],
    ['B_2', 'two'],
  ]);
  t.equal(expand('$(A)-$(B_2)', vars), 'one-two');
  t.equal(expand('$$(A) $(MISSING)', vars), '$(A) $(MISSING)', '$$ escapes and unknown names stay');
});

t.test('restart backoff: immediate, then 10 s doubling to 5 min', async (t) => {
  const b = new Backoff();
  t.equal(b.remainingMs('p/c', 1000, 1000), 0, 'the first restart does not wait');
  const delays = [];
  for (let i = 0; i < 7; i++) {
    b.next('p/c', 0);
    delays.push(b.delayMs('p/c'));
  }
  t.same(delays, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  t.equal(b.remainingMs('p/c', 0, 100_000), 200_000, 'counted from when the container stopped');
  b.next('p/c', 10 * 60_000 + 1);
  t.equal(b.delayMs('p/c'), 10_000, 'a container that stayed up for twice the maximum starts over');
  b.forget('p/');
  t.equal(b.remainingMs('p/c', 0, 0), 0);
  // Image pulls count from the last failure.
  t.equal(b.remainingSinceLast('p/c/pull', 0), 0);
  b.next('p/c/pull', 1000);
  t.equal(b.remainingSinceLast('p/c/pull', 4000), 7000);
  t.equal(b.remainingSinceLast('p/c/pull', 12_000), 0, 'then it may try again');
  // Without a time given, the backoff reads its clock.
  const clock = new ManualClock(1000);
  const pulls = new Backoff(10_000, 300_000, clock);
  pulls.next('p/c/pull');
  clock.set(4000);
  t.equal(pulls.remainingSinceLast('p/c/pull'), 7000, 'by the clock');
  clock.set(12_000);
  t.equal(pulls.remainingSinceLast('p/c/pull'), 0);
});

t.test('volume files change atomically and only when needed', async (t) => {
  const dir = tempDir(t);
  t.equal(
    writeAtomically(dir, [
      { path: 'a', data: '1' },
      { path: 'sub/b', data: '2', mode: 0o600 },
    ]),
    true,
  );
  t.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), '1');
  t.equal(fs.readFileSync(path.join(dir, 'sub/b'), 'utf8'), '2');
  t.equal(fs.statSync(path.join(dir, 'sub/b')).mode & 0o777, 0o600);
  t.equal(fs.readlinkSync(path.join(dir, 'a')), '..data/a', 'names point through ..data');
  t.equal(
    writeAtomically(dir, [
      { path: 'a', data: '1' },
      { path: 'sub/b', data: '2', mode: 0o600 },
    ]),
    false,
    'nothing changed, nothing written',
  );
  t.equal(writeAtomically(dir, [{ path: 'a', data: 'new' }]), true);
  t.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), 'new');
  t.notOk(fs.existsSync(path.join(dir, 'sub')), 'a key that went away is gone');
  t.equal(fs.readdirSync(dir).filter((n) => n.startsWith('..') && n !== '..data').length, 1, 'the old version was removed');
  t.throws(() => writeAtomically(dir, [{ path: '../escape', data: 'x' }]), /must be relative and may not contain '\.\.'/);
});

t.test('CRI log files read as kubectl logs asks', async (t) => {
  const file = path.join(tempDir(t), '0.log');
  fs.writeFileSync(
    file,
    [
      '2026-01-01T00:00:01.000000001Z stdout F first',
      '2026-01-01T00:00:02.000000001Z stderr P sec',
      '2026-01-01T00:00:02.500000001Z stderr F ond',
      '2026-01-01T00:00:03.000000001Z stdout F third',
      '',
    ].join('\n'),
  );
  const read = async (opts: object, running = async () => false) => {
    let out = '';
    for await (const chunk of containerLog(file, opts, running, new AbortController().signal)) out += chunk;
    return out;
  };
  t.equal(await read({}), 'first\nsecond\nthird\n', 'partial records make one line');
  t.equal(await read({ tailLines: 2 }), 'second\nthird\n');
  t.equal(await read({ tailLines: 0 }), '');
  t.equal(await read({ timestamps: true, tailLines: 1 }), '2026-01-01T00:00:03.000000001Z third\n');
  t.equal(await read({ since: new Date('2026-01-01T00:00:02Z') }), 'second\nthird\n');
  t.equal(await read({ limitBytes: 8 }), 'first\nse');
  t.equal(await read({ timestamps: true, tailLines: 2 }), '2026-01-01T00:00:02.000000001Z second\n2026-01-01T00:00:03.000000001Z third\n');
  // A program that prints without a newline and waits is seen at once (as the kubelet shows it).
  const unfinished = path.join(path.dirname(file), '1.log');
  fs.writeFileSync(unfinished, '2026-01-01T00:00:01Z stdout F 200\n2026-01-01T00:00:01Z stdout P {"kind":"PodList"}\n');
  let seen = '';
  for await (const chunk of containerLog(unfinished, {}, async () => true, new AbortController().signal)) seen += chunk;
  t.equal(seen, '200\n{"kind":"PodList"}', 'a partial record is shown before its line is finished');
  // follow: what is written while following arrives; it ends once the container has stopped.
  let alive = true;
  let followed = '';
  for await (const chunk of containerLog(file, { follow: true, tailLines: 1 }, async () => alive, new AbortController().signal)) {
    followed += chunk;
    if (followed === 'third\n') fs.appendFileSync(file, '2026-01-01T00:00:04Z stdout F fourth\n');
    if (followed.endsWith('fourth\n')) alive = false;
  }
  t.equal(followed, 'third\nfourth\n');
});

t.test('log rotation keeps the newest files and tells containerd to reopen', async (t) => {
  const dir = tempDir(t);
  const logPath = path.join(dir, '0.log');
  const reopened: string[] = [];
  const cri = {
    call: async (_s: string, method: string, req: any) => {
      reopened.push(`${method} ${req.containerId}`);
      return {};
    },
  };
  fs.writeFileSync(logPath, 'x'.repeat(100));
  await rotateLogs(cri as any, [{ containerId: 'c1', logPath }], 200, 2);
  t.same(fs.readdirSync(dir), ['0.log'], 'a small log is left alone');
  for (const [i, when] of ['2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', '2026-01-01T00:02:00Z'].entries()) {
    fs.writeFileSync(logPath, 'y'.repeat(300 + i));
    await rotateLogs(cri as any, [{ containerId: 'c1', logPath }], 200, 2, new Date(when));
  }
  t.same(fs.readdirSync(dir).sort(), ['0.log.20260101-000200'], 'only the newest rotated file is kept beside the current one');
  t.equal(reopened.length, 3);
  t.equal(reopened[0], 'ReopenContainerLog c1');
  const failing = { call: async () => Promise.reject(new Error('container is not running')) };
  fs.writeFileSync(logPath, 'z'.repeat(300));
  await rotateLogs(failing as any, [{ containerId: 'c1', logPath }], 200, 2);
  t.equal(fs.readFileSync(logPath, 'utf8').length, 300, 'when containerd cannot reopen, the file keeps its name');
});

t.test('--kubelet-arg settings', async (t) => {
  t.same(kubeletArgs([]), { port: 10250, containerLogMaxSize: 10 * 1024 * 1024, containerLogMaxFiles: 5 });
  t.same(kubeletArgs(['port=10300', '--container-log-max-size=1Mi', 'container-log-max-files=3']), {
    port: 10300,
    containerLogMaxSize: 1024 * 1024,
    containerLogMaxFiles: 3,
  });
  for (const bad of ['port=x', 'container-log-max-size=lots', 'container-log-max-files=1', 'eviction-hard=memory.available<100Mi']) {
    t.throws(() => kubeletArgs([bad]), new RegExp(`^unsupported --kubelet-arg "${bad.replace(/[.<]/g, '\\$&')}": supported are port=`));
  }
});
