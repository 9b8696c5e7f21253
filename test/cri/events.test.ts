// containerd's event stream against a real containerd: a container's start, the exit of an exec'd
// process told apart from the container's own, its deletion, an image's deletion; and the stream
// coming back by itself after containerd is killed and restarted by its supervisor.
import t from 'tap';
import { followEvents, type RuntimeEvent } from '../../src/cri/events.js';
import { startContainerd } from '../helpers/containerd.js';
import { eventually } from '../helpers/eventually.js';

t.test('containerd events: start, exits, deletes, and a new subscription after containerd restarts', async (t) => {
  const { buildBusyboxImage } = await import('../helpers/images.js');
  const { importImages } = await import('../../src/agent/containerd.js');
  const c = await startContainerd(t, { network: true, sandboxImage: 'skiff.local/busybox:test' });
  buildBusyboxImage(`${c.dir}/images`, 'skiff.local/busybox:test', ['sleep', '3600']);
  buildBusyboxImage(`${c.dir}/images`, 'skiff.local/other:test', ['sleep', '7200']);
  await importImages(c.socket, `${c.dir}/images`);

  const events: RuntimeEvent[] = [];
  let connections = 0;
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  followEvents(c.cri, { event: (e) => events.push(e), connected: () => connections++ }, stop.signal);
  await eventually(() => connections === 1, { timeout: 10_000, what: 'the subscription' });
  const seen = (what: string, match: (e: RuntimeEvent) => boolean) => eventually(() => events.find(match), { timeout: 10_000, what });

  const sandboxConfig = { metadata: { name: 'ev', namespace: 'default', uid: 'uid-ev', attempt: 0 }, hostname: 'ev', linux: {} };
  const { podSandboxId } = await c.cri.runPodSandbox(sandboxConfig);
  t.teardown(async () => {
    await c.cri.stopPodSandbox(podSandboxId).catch(() => {});
    await c.cri.removePodSandbox(podSandboxId).catch(() => {});
  });
  const { containerId } = await c.cri.createContainer(
    podSandboxId,
    { metadata: { name: 'app', attempt: 0 }, image: { image: 'skiff.local/busybox:test' }, command: ['sleep', '3600'] },
    sandboxConfig,
  );
  await c.cri.startContainer(containerId);
  await seen('the container start', (e) => e.topic === '/tasks/start' && e.containerId === containerId);

  t.equal((await c.cri.execSync(containerId, ['true'])).exitCode, 0);
  const exec = await seen('the exec exit', (e) => e.topic === '/tasks/exit' && e.containerId === containerId);
  t.same(exec, { topic: '/tasks/exit', containerId, init: false }, "an exec'd process's exit is not the container's");

  await c.cri.stopContainer(containerId, 1);
  await seen('the container exit', (e) => e.topic === '/tasks/exit' && e.containerId === containerId && e.init);
  await c.cri.removeContainer(containerId);
  await seen('the container deletion', (e) => e.topic === '/containers/delete' && e.containerId === containerId);
  await c.cri.removeImage('skiff.local/other:test');
  await seen('the image deletion', (e) => e.topic === '/images/delete' && e.image === 'skiff.local/other:test');

  // containerd killed: its supervisor starts it again, and the stream comes back by itself.
  process.kill(c.supervisor.pid!, 'SIGKILL');
  await eventually(() => connections >= 2, {
    timeout: 20_000,
    what: 'a new subscription',
  });
  await eventually(() => c.cri.version(), { timeout: 20_000, what: 'containerd back' });
  await c.cri.stopPodSandbox(podSandboxId);
  await seen('the sandbox exit after the restart', (e) => e.topic === '/tasks/exit' && e.containerId === podSandboxId && e.init);
});
