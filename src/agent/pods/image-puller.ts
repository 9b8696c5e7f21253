// Getting a container's image by its pull policy: present and not Always, use it; Never, refuse;
// otherwise pull, backing off after failures (ErrImagePull, then ImagePullBackOff).
import type { Container } from 'kubernetes-types/core/v1.js';
import type { EventType } from '../../client/event-recorder.js';
import type { Writable } from '../../client/resources.js';
import type { CriClient, CriMessage } from '../../cri/client.js';
import type { Backoff } from './backoff.js';

export type ImageOutcome = { ok: true } | { ok: false; reason: string; message: string; retryMs: number };

export async function ensureImage(
  cri: CriClient,
  backoff: Backoff,
  backoffKey: string,
  spec: Writable<Container>,
  sandboxConfig: CriMessage,
  event: (type: EventType, reason: string, message: string) => void,
): Promise<ImageOutcome> {
  const image = spec.image!;
  const policy = spec.imagePullPolicy ?? 'IfNotPresent';
  if ((await cri.imageStatus(image)) && policy !== 'Always') {
    event('Normal', 'Pulled', `Container image "${image}" already present on machine`);
    return { ok: true };
  }
  if (policy === 'Never')
    return {
      ok: false,
      reason: 'ErrImageNeverPull',
      message: `Container image "${image}" is not present with pull policy of Never`,
      retryMs: 10_000,
    };
  const wait = backoff.remainingSinceLast(backoffKey);
  if (wait > 0) return { ok: false, reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"`, retryMs: wait };
  event('Normal', 'Pulling', `Pulling image "${image}"`);
  try {
    await cri.pullImage(image, sandboxConfig);
    event('Normal', 'Pulled', `Successfully pulled image "${image}"`);
    return { ok: true };
  } catch (err) {
    backoff.next(backoffKey);
    return {
      ok: false,
      reason: 'ErrImagePull',
      message: `Failed to pull image "${image}": ${(err as Error).message}`,
      retryMs: backoff.delayMs(backoffKey),
    };
  }
}
