// Pod facts the workload controllers share: alive or finished, ready, available, and a new pod from
// a template.
import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { EventRecorder } from '../client/event-recorder.js';
import type { ResourceClient } from '../client/rest-client.js';
import type { KubeObject, Writable } from '../client/resources.js';
import type { Expectations } from './expectations.js';

type P = Writable<Pod>;

/** The label naming the template revision a DaemonSet or StatefulSet pod was made from. */
export const REVISION_HASH = 'controller-revision-hash';

export const isActive = (pod: P) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed' && !pod.metadata?.deletionTimestamp;

export const readyCondition = (pod: P) => pod.status?.conditions?.find((c) => c.type === 'Ready');

export const isReady = (pod: P) => readyCondition(pod)?.status === 'True';

/** Ready for at least minReadySeconds. */
export function isAvailable(pod: P, minReadySeconds: number, now = Date.now()): boolean {
  if (!isReady(pod)) return false;
  if (!minReadySeconds) return true;
  const since = readyCondition(pod)?.lastTransitionTime;
  return !!since && Date.parse(since) + minReadySeconds * 1000 <= now;
}

/** Milliseconds until a ready pod becomes available, if it is not yet. */
export function msUntilAvailable(pod: P, minReadySeconds: number, now = Date.now()): number | undefined {
  const since = readyCondition(pod)?.lastTransitionTime;
  if (!isReady(pod) || !minReadySeconds || !since) return undefined;
  const left = Date.parse(since) + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}

export function podFromTemplate(
  template: Writable<PodTemplateSpec>,
  namespace: string,
  generateName: string,
  owner: OwnerReference,
  extraLabels: Record<string, string> = {},
): P {
  const meta = template.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName,
      namespace,
      labels: { ...meta.labels, ...extraLabels },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [owner],
    },
    spec: structuredClone(template.spec ?? { containers: [] }),
  };
}

/**
 * Which pods to remove first when scaling down, as Kubernetes ranks them: not yet on a node, then
 * pending, then not ready, then the newest.
 */
export function deletionOrder(a: P, b: P): number {
  const rank = (p: P) => [
    p.spec?.nodeName ? 1 : 0,
    p.status?.phase === 'Pending' ? 0 : p.status?.phase === 'Unknown' ? 1 : 2,
    isReady(p) ? 1 : 0,
  ];
  const [ra, rb] = [rank(a), rank(b)];
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  return Date.parse(b.metadata?.creationTimestamp ?? '') - Date.parse(a.metadata?.creationTimestamp ?? '');
}

/**
 * Creates a pod for a controller, recording SuccessfulCreate or FailedCreate on `owner`; a failed
 * create is one fewer creation to expect under `key`.
 */
export async function createPodFor(
  client: ResourceClient<P>,
  recorder: EventRecorder,
  owner: KubeObject,
  pod: P,
  expectations: Expectations,
  key: string,
): Promise<P> {
  try {
    const created = await client.create(pod);
    recorder.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata!.name}`);
    return created;
  } catch (err) {
    expectations.creationObserved(key);
    recorder.event(owner, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
    throw err;
  }
}
