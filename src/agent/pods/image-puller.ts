// Getting a container's image by its pull policy: present and not Always, use it; Never, refuse;
// otherwise pull, backing off after failures (ErrImagePull, then ImagePullBackOff). Which images are
// present is asked once and remembered (KnownImages) until containerd says an image was deleted.
import type { Container } from 'kubernetes-types/core/v1.js';
import type { EventType } from '../../client/event-recorder.js';
import type { Writable } from '../../client/resources.js';
import type { CriClient, CriMessage } from '../../cri/client.js';
import type { Backoff } from './backoff.js';

export type ImageOutcome = { ok: true } | { ok: false; reason: string; message: string; retryMs: number };

/** The images containerd has, as far as asked: many pods of one image ask containerd once. */
export class KnownImages {
  private readonly present = new Set<string>();
  private readonly asking = new Map<string, Promise<boolean>>();
  /** Bumped by forget(): an answer asked for before it is not remembered. */
  private generation = 0;

  constructor(private readonly cri: CriClient) {}

  has(image: string): Promise<boolean> {
    if (this.present.has(image)) return Promise.resolve(true);
    let asked = this.asking.get(image);
    if (!asked) {
      const generation = this.generation;
      asked = this.cri
        .imageStatus(image)
        .then((status) => {
          if (status && generation === this.generation) this.present.add(image);
          return !!status;
        })
        .finally(() => this.asking.delete(image));
      this.asking.set(image, asked);
    }
    return asked;
  }

  pulled(image: string): void {
    this.present.add(image);
  }

  /** An image was deleted (by any name), or deletions may have been missed: ask again. */
  forget(): void {
    this.generation++;
    this.present.clear();
    this.asking.clear();
  }
}

export async function ensureImage(
  images: KnownImages,
  cri: CriClient,
  backoff: Backoff,
  backoffKey: string,
  spec: Writable<Container>,
  sandboxConfig: CriMessage,
  event: (type: EventType, reason: string, message: string) => void,
): Promise<ImageOutcome> {
  const image = spec.image!;
  const policy = spec.imagePullPolicy ?? 'IfNotPresent';
  if (policy !== 'Always' && (await images.has(image))) {
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
    images.pulled(image);
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
