import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { CriClient, CriError, isCriNotFound } from '../../src/cri/client.js';
import { startContainerd } from '../helpers/containerd.js';

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
  const { buildBusyboxImage, importImage } = await import('../helpers/images.js');
  const c = await startContainerd(t);
  importImage(c.socket, buildBusyboxImage(c.dir, 'skiff.local/busybox:test'));
  const image = await c.cri.imageStatus('skiff.local/busybox:test');
  t.match(image, { id: /^sha256:[0-9a-f]{64}$/, repoTags: ['skiff.local/busybox:test'], size: Number });
  t.ok(image!.size > 500_000, `it holds busybox (${image!.size} bytes)`);
  t.same((await c.cri.listImages()).map((i) => i.repoTags).flat(), ['skiff.local/busybox:test']);
  await c.cri.removeImage('skiff.local/busybox:test');
  t.equal(await c.cri.imageStatus('skiff.local/busybox:test'), undefined, 'removed');
});
