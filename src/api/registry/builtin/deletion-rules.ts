// The kinds whose deletion waits for more than metadata finalizers: a pod on a node gets its grace
// period to stop, and a namespace is emptied by the namespace controller (its spec.finalizers).
import type { KObject } from '../../../k8s/object.js';
import type { DeletionRules } from '../types.js';

interface PodLike extends KObject {
  spec?: { nodeName?: string; terminationGracePeriodSeconds?: number };
  status?: { phase?: string };
}

export const podDeletion: DeletionRules = {
  /** 0 when the pod never ran on a node or has already finished. */
  gracePeriodSeconds(obj, requested) {
    const pod = obj as PodLike;
    const phase = pod.status?.phase;
    if (!pod.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
    return Math.max(0, requested ?? pod.spec.terminationGracePeriodSeconds ?? 30);
  },
};

export const namespaceDeletion: DeletionRules = {
  specFinalizers: (obj) => (obj as { spec?: { finalizers?: string[] } }).spec?.finalizers ?? [],
  terminatingStatus: (obj) => ({ ...(obj as { status?: object }).status, phase: 'Terminating' }),
};
