import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { CriClient, CriError, isCriNotFound } from '../../src/cri/client.js';
import { startContainerd } from '../helpers/containerd.js';
import { eventually } from '../helpers/eventually.js';

t.test('CRI v1 against a real containerd: version, status, images, sandboxes, containers', async (t) => {
  const c = await startContainerd(t);
  const v = await c.cri.version();
  t.match(v, { version: '0.1.0', runtimeName: 'containerd', runtimeVersion: /^v?\d+\.\d+/, runtimeApiVersion: 'v1' });

  const status = await c.cri.status();
  const conditions = Object.fromEntries((status.status.conditions as { type: string; status: boolean }[]).map((x) => [x.type, x.status]));
  t.equal(conditions.RuntimeReady, true, 'the runtime is ready');
  t.equal(conditions.NetworkReady, false, 'the network is not, without a CNI config');

  t.same(await c.cri.listImages(), []);
  t.equal(await c.cri.imageStatus('skiff.local/absent:1'), undefined, 'an image it lacks has no status');
  t.same(await c.cri.listPodSandbox(), []);
  t.same(await c.cri.listContainers(), []);
  t.match(await c.cri.imageFsInfo(), { imageFilesystems: [{ fsId: { mountpoint: /root/ } }] });

  const missing = await c.cri.podSandboxStatus('0123456789abcdef').catch((e) => e);
  t.ok(missing instanceof CriError && isCriNotFound(missing), 'an unknown sandbox is NOT_FOUND');
  t.match(missing.message, /^CRI PodSandboxStatus: .*not found/i);
  t.same(await c.cri.removeContainer('nope'), {}, 'removing what is not there is fine: CRI removals are idempotent');

  // No registry is reachable: a pull fails with the image named, within its deadline.
  const pull = await c.cri.pullImage('skiff.invalid/none:1', undefined, 5000).catch((e) => e);
  t.ok(pull instanceof CriError);
  t.match(pull.message, /CRI PullImage: .*skiff\.invalid\/none:1/);
});

t.test('a runtime that is not there is one clear error', async (t) => {
  const c = await startContainerd(t);
  await c.stop();
  const after = new CriClient(c.socket, { timeoutMs: 1000 });
  t.teardown(() => after.close());
  const down = await after.version().catch((e) => e);
  t.ok(down instanceof CriError);
  t.equal(down.code, grpc.status.UNAVAILABLE);
  t.match(down.message, new RegExp(`^the container runtime is not reachable at unix://${c.socket}`));
  const never = new CriClient('/tmp/skiff-no-such.sock', { timeoutMs: 1000 });
  t.teardown(() => never.close());
  const err = await never.version().catch((e) => e);
  t.match(err.message, /^the container runtime is not reachable at unix:\/\/\/tmp\/skiff-no-such\.sock/);
  const invalid = await never.call('RuntimeService', 'Version', { version: 7 }).catch((e) => e);
  t.match(invalid.message, /CRI Version: invalid request: version: string expected/);
});

t.test('images: a locally built image is listed, has a status, and can be removed', async (t) => {
  const { buildBusyboxImage } = await import('../helpers/images.js');
  const { importImages } = await import('../../src/agent/containerd.js');
  const c = await startContainerd(t);
  buildBusyboxImage(`${c.dir}/images`, 'skiff.local/busybox:test');
  await importImages(c.socket, `${c.dir}/images`);
  const image = await c.cri.imageStatus('skiff.local/busybox:test');
  t.match(image, { id: /^sha256:[0-9a-f]{64}$/, repoTags: ['skiff.local/busybox:test'], size: Number });
  t.ok(image!.size > 500_000, `it holds busybox (${image!.size} bytes)`);
  t.same(
    (await c.cri.listImages()).flatMap((i) => i.repoTags),
    ['skiff.local/busybox:test'],
  );
  await c.cri.removeImage('skiff.local/busybox:test');
  t.equal(await c.cri.imageStatus('skiff.local/busybox:test'), undefined, 'removed');
});

t.test('a pod through CRI: sandbox on a CNI bridge, a container from a local image, exec, logs, teardown', async (t) => {
  const { buildBusyboxImage } = await import('../helpers/images.js');
  const { importImages } = await import('../../src/agent/containerd.js');
  const { readFileSync } = await import('node:fs');
  const c = await startContainerd(t, { network: true, sandboxImage: 'skiff.local/busybox:test' });
  buildBusyboxImage(`${c.dir}/images`, 'skiff.local/busybox:test', ['sleep', '3600']);
  await importImages(c.socket, `${c.dir}/images`);

  const logs = `${c.dir}/logs`;
  const sandboxConfig = {
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web', attempt: 0 },
    hostname: 'web',
    logDirectory: logs,
    linux: {},
  };
  const { podSandboxId } = await c.cri.runPodSandbox(sandboxConfig);
  t.teardown(async () => {
    await c.cri.stopPodSandbox(podSandboxId).catch(() => {});
    await c.cri.removePodSandbox(podSandboxId).catch(() => {});
  });
  const sandbox = await c.cri.podSandboxStatus(podSandboxId);
  t.equal(sandbox.status.state, 'SANDBOX_READY');
  const ip = sandbox.status.network!.ip;
  t.match(ip, new RegExp(`^${c.subnet!.split('.').slice(0, 3).join('\\.')}\\.\\d+$`), 'the pod has an address on the bridge');

  const { containerId } = await c.cri.createContainer(
    podSandboxId,
    {
      metadata: { name: 'httpd', attempt: 0 },
      image: { image: 'skiff.local/busybox:test' },
      command: ['sh', '-c', 'echo started; mkdir -p /www; echo hello from the pod > /www/index.html; exec httpd -f -p 8080 -h /www'],
      logPath: 'httpd/0.log',
    },
    sandboxConfig,
  );
  await c.cri.startContainer(containerId);
  t.equal((await c.cri.containerStatus(containerId)).status.state, 'CONTAINER_RUNNING');
  const hostname = await c.cri.execSync(containerId, ['hostname']);
  t.equal(hostname.exitCode, 0);
  t.equal(Buffer.from(hostname.stdout).toString().trim(), 'web');

  // The host reaches the pod's address.
  const body = await eventually(() => fetch(`http://${ip}:8080/`).then((r) => r.text()), {
    timeout: 10_000,
    what: `http://${ip}:8080/ to answer`,
  });
  t.equal(body, 'hello from the pod\n');
  t.match(readFileSync(`${logs}/httpd/0.log`, 'utf8'), /^\S+ stdout F started$/m, 'container output goes to its CRI log file');

  await c.cri.stopContainer(containerId, 2);
  t.equal((await c.cri.containerStatus(containerId)).status.state, 'CONTAINER_EXITED');
  await c.cri.removeContainer(containerId);
  await c.cri.stopPodSandbox(podSandboxId);
  await c.cri.removePodSandbox(podSandboxId);
  t.same(await c.cri.listContainers(), [], 'no container is left');
  t.same(await c.cri.listPodSandbox(), [], 'and no sandbox');
});
