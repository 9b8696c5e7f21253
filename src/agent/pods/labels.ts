// The labels and annotations the kubelet puts on CRI sandboxes and containers. They are how an
// agent finds a pod's containers again, after a restart too (adoption), and what crictl users expect.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Writable } from '../../client/resources.js';

export const POD_NAME = 'io.kubernetes.pod.name';
export const POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const POD_UID = 'io.kubernetes.pod.uid';
export const CONTAINER_NAME = 'io.kubernetes.container.name';
export const RESTART_COUNT = 'io.kubernetes.container.restartCount';
export const TERMINATION_MESSAGE_FILE = 'io.kubernetes.container.terminationMessagePath';

export type P = Writable<Pod>;

export function podLabels(pod: P): Record<string, string> {
  return { [POD_NAME]: pod.metadata!.name!, [POD_NAMESPACE]: pod.metadata!.namespace!, [POD_UID]: pod.metadata!.uid! };
}

/** `<namespace>/<name>` for logs. */
export const podKey = (pod: P) => `${pod.metadata?.namespace}/${pod.metadata?.name}`;
