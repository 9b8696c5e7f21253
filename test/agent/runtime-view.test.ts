// The agent's memory of containerd (src/agent/pods/runtime-view.ts) against a fake CRI: a steady pod
// costs no calls, an exit event names the pod even when the CRI tells the exit a moment late or the
// event overtakes the start's answer, an exec's exit is ignored, the relist finds what no event said,
// a list that began before the agent's own call does not undo it, and an image is asked for once.
import t from 'tap';
import { CriError, type CriClient } from '../../src/cri/client.js';
import type { ContainerState } from '../../src/cri/messages.js';
import { RuntimeView } from '../../src/agent/pods/runtime-view.js';
import { POD_UID } from '../../src/agent/pods/labels.js';
import { eventually } from '../helpers/eventually.js';

interface FakeContainer {
  id: string;
  sandboxId: string;
  uid: string;
  state: ContainerState;
  exitCode: number;
  /** ContainerStatus answers RUNNING this many more times after an exit (the CRI acting late). */
  lag: number;
}

/** An in-memory CRI: sandboxes and containers by id, every call counted. */
class FakeCri {
  readonly calls: string[] = [];
  readonly sandboxes = new Map<string, { uid: string; ready: boolean }>();
  readonly containers = new Map<string, FakeContainer>();
  images = new Set(['busybox']);
  /** Answers the next container list (and forgets it); a test holds a list back with it. */
  nextListGate?: Promise<void>;
  onStart?: (id: string) => void;
  private n = 0;

  private count(method: string) {
    this.calls.push(method);
  }
  private notFound(): never {
    throw new CriError('not found', 5);
  }
  sandboxItem(id: string) {
    const s = this.sandboxes.get(id)!;
    return {
      id,
      metadata: { name: 'p', uid: s.uid, namespace: 'default', attempt: 0 },
      state: s.ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
      createdAt: Number(id.slice(1)),
      labels: { [POD_UID]: s.uid },
      annotations: {},
      runtimeHandler: '',
    };
  }
  containerItem(c: FakeContainer, state = c.state) {
    return {
      id: c.id,
      podSandboxId: c.sandboxId,
      metadata: { name: 'app', attempt: 0 },
      state,
      createdAt: Number(c.id.slice(1)),
      startedAt: 1e15,
      finishedAt: state === 'CONTAINER_EXITED' ? 2e15 : 0,
      exitCode: state === 'CONTAINER_EXITED' ? c.exitCode : 0,
      image: { image: 'busybox', annotations: {} },
      imageRef: 'sha256:1',
      reason: '',
      message: '',
      labels: { [POD_UID]: c.uid, 'io.kubernetes.container.name': 'app' },
      annotations: {},
      logPath: `/logs/${c.id}`,
    };
  }
  async listPodSandbox() {
    this.count('ListPodSandbox');
    return [...this.sandboxes.keys()].map((id) => this.sandboxItem(id));
  }
  async listContainers() {
    this.count('ListContainers');
    const snapshot = [...this.containers.values()].map((c) => this.containerItem(c));
    const gate = this.nextListGate;
    this.nextListGate = undefined;
    await gate;
    return snapshot;
  }
  async containerStatus(id: string) {
    this.count('ContainerStatus');
    const c = this.containers.get(id) ?? this.notFound();
    if (c.state === 'CONTAINER_EXITED' && c.lag > 0) {
      c.lag--;
      return { status: this.containerItem(c, 'CONTAINER_RUNNING'), info: {} };
    }
    return { status: this.containerItem(c), info: {} };
  }
  async podSandboxStatus(id: string) {
    this.count('PodSandboxStatus');
    if (!this.sandboxes.has(id)) this.notFound();
    return { status: { ...this.sandboxItem(id), network: { ip: '10.42.0.9', additionalIps: [] } }, info: {} };
  }
  async runPodSandbox(config: { metadata: { uid: string } }) {
    this.count('RunPodSandbox');
    const id = `s${++this.n}`;
    this.sandboxes.set(id, { uid: config.metadata.uid, ready: true });
    return { podSandboxId: id };
  }
  async createContainer(sandboxId: string) {
    this.count('CreateContainer');
    const id = `c${++this.n}`;
    this.containers.set(id, { id, sandboxId, uid: this.sandboxes.get(sandboxId)!.uid, state: 'CONTAINER_CREATED', exitCode: 0, lag: 0 });
    return { containerId: id };
  }
  async startContainer(id: string) {
    this.count('StartContainer');
    this.containers.get(id)!.state = 'CONTAINER_RUNNING';
    this.onStart?.(id);
    return {};
  }
  async stopContainer(id: string) {
    this.count('StopContainer');
    this.containers.get(id)!.state = 'CONTAINER_EXITED';
    return {};
  }
  async removeContainer(id: string) {
    this.count('RemoveContainer');
    this.containers.delete(id);
    return {};
  }
  async imageStatus(image: string) {
    this.count('ImageStatus');
    await new Promise((r) => setTimeout(r, 5));
    return this.images.has(image) ? { id: 'sha256:1' } : undefined;
  }
  /** A container dies on its own. */
  crash(id: string, exitCode: number, lag = 0) {
    Object.assign(this.containers.get(id)!, { state: 'CONTAINER_EXITED', exitCode, lag });
  }
}

async function setUp() {
  const fake = new FakeCri();
  const view = new RuntimeView(fake as unknown as CriClient);
  const changed: string[] = [];
  view.changed = (uid) => changed.push(uid);
  const sandboxId = await view.runPodSandbox({ metadata: { uid: 'u1' } });
  const id = await view.createContainer(sandboxId, {}, {});
  await view.startContainer(id, sandboxId);
  return { fake, view, changed, sandboxId, id };
}

t.test('a started pod: known without a list, and a steady pod asks containerd nothing', async (t) => {
  const { fake, view, id, sandboxId } = await setUp();
  t.same(fake.calls, ['RunPodSandbox', 'PodSandboxStatus', 'CreateContainer', 'StartContainer', 'ContainerStatus']);
  // The first look lists the node once (what an agent started before left behind).
  const rt = await view.pod('u1');
  t.match(rt, { sandboxes: [{ id: sandboxId, ready: true }], containers: [{ id, sandboxId, name: 'app', state: 'CONTAINER_RUNNING' }] });
  t.equal(await view.sandboxIP(sandboxId), '10.42.0.9');
  const before = fake.calls.length;
  for (let i = 0; i < 10; i++) await view.pod('u1');
  t.equal(fake.calls.length, before, 'no calls for a pod nothing happened to');
  t.same(view.runningLogs(), [{ containerId: id, logPath: `/logs/${id}` }]);
});

t.test("a container's exit names its pod, even when the CRI tells it a moment late; an exec's exit does not", async (t) => {
  const { fake, view, changed, id } = await setUp();
  await view.pod('u1');
  view.handle({ topic: '/tasks/exit', containerId: id, init: false });
  fake.crash(id, 3, 2);
  view.handle({ topic: '/tasks/exit', containerId: id, init: true });
  view.handle({ topic: '/tasks/delete', containerId: id, init: true });
  await eventually(() => changed.includes('u1'), { timeout: 5000, what: 'the pod named' });
  t.match((await view.pod('u1')).containers, [{ id, state: 'CONTAINER_EXITED', exitCode: 3 }]);
  t.equal(fake.calls.filter((c) => c === 'ContainerStatus').length, 1 + 3, 'asked until the CRI told the exit, once at a time');
});

t.test('an exit that overtakes the answer to the start is not lost', async (t) => {
  const fake = new FakeCri();
  const view = new RuntimeView(fake as unknown as CriClient);
  const changed: string[] = [];
  view.changed = (uid) => changed.push(uid);
  await view.pod('u2');
  const sandboxId = await view.runPodSandbox({ metadata: { uid: 'u2' } });
  const id = await view.createContainer(sandboxId, {}, {});
  fake.onStart = (started) => {
    fake.crash(started, 1, 1);
    view.handle({ topic: '/tasks/exit', containerId: started, init: true });
  };
  await view.startContainer(id, sandboxId);
  await eventually(() => changed.includes('u2'), { timeout: 5000, what: 'the pod named' });
  t.match((await view.pod('u2')).containers, [{ id, state: 'CONTAINER_EXITED', exitCode: 1 }]);
});

t.test('the relist finds what no event said: a changed state, a deleted container, pods of any uid', async (t) => {
  const { fake, view, id, sandboxId } = await setUp();
  await view.pod('u1');
  t.same(await view.relist(), { changed: new Set(), seen: new Set(['u1']) }, 'nothing changed');
  fake.crash(id, 137);
  t.same((await view.relist()).changed, new Set(['u1']), 'an exit no event told');
  t.match((await view.pod('u1')).containers, [{ state: 'CONTAINER_EXITED', exitCode: 137 }]);
  fake.containers.delete(id);
  fake.sandboxes.set('s99', { uid: 'gone', ready: true });
  const { changed, seen } = await view.relist();
  t.same(changed, new Set(['u1', 'gone']));
  t.same(seen, new Set(['u1', 'gone']), 'a pod the agent never ran is seen (and can be cleaned up)');
  t.same((await view.pod('u1')).containers, []);
  t.ok(view.has('gone'));
  view.handle({ topic: '/containers/delete', containerId: sandboxId });
  t.same((await view.pod('u1')).sandboxes, [], 'a deleted sandbox is forgotten');
});

t.test("a list that began before the agent's own call does not undo it", async (t) => {
  const { fake, view, sandboxId } = await setUp();
  await view.pod('u1');
  let release!: () => void;
  fake.nextListGate = new Promise((r) => (release = r));
  const listing = view.relist();
  const id2 = await view.createContainer(sandboxId, {}, {});
  await view.startContainer(id2, sandboxId);
  release();
  await listing;
  t.ok(
    (await view.pod('u1')).containers.some((c) => c.id === id2 && c.state === 'CONTAINER_RUNNING'),
    'the new container is still known',
  );
  await view.stopContainer(id2, 0);
  await view.removeContainer(id2);
  t.notOk(
    (await view.pod('u1')).containers.some((c) => c.id === id2),
    'removed by the agent: forgotten',
  );
});

t.test('an image is asked for once by many, and again after an image was deleted', async (t) => {
  const fake = new FakeCri();
  const view = new RuntimeView(fake as unknown as CriClient);
  t.same(await Promise.all(Array.from({ length: 30 }, () => view.images.has('busybox'))), Array(30).fill(true));
  t.equal(await view.images.has('absent'), false);
  t.equal(await view.images.has('absent'), false, 'an absent one is asked again each time');
  t.equal(fake.calls.filter((c) => c === 'ImageStatus').length, 3);
  fake.images.delete('busybox');
  view.handle({ topic: '/images/delete', image: 'docker.io/library/busybox:latest' });
  t.equal(await view.images.has('busybox'), false, 'asked again after a deletion');
});
