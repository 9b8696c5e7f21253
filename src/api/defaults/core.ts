// core/v1 defaults, including what Kubernetes' default admission plugins add to new pods
// (service account, priority, the not-ready/unreachable tolerations).
import type { Pod, PodSpec, Service } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../k8s/object.js';
import { defaultPodSpec } from './pod-spec.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NODE_PROBLEM_TOLERATIONS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

function qosClass(spec: PodSpec): string {
  const containers = [...(spec.initContainers ?? []), ...spec.containers];
  const resources = containers.map((c) => c.resources ?? {});
  const none = resources.every((r) => !Object.keys(r.requests ?? {}).length && !Object.keys(r.limits ?? {}).length);
  if (none) return 'BestEffort';
  const guaranteed = resources.every((r) =>
    ['cpu', 'memory'].every((k) => r.limits?.[k] !== undefined && String(r.requests?.[k] ?? r.limits[k]) === String(r.limits[k])),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function defaultPod(obj: KObject): void {
  const pod = obj as Mutable<Pod>;
  const spec = pod.spec as Mutable<PodSpec> | undefined;
  if (!spec) return;
  defaultPodSpec(spec);
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.enableServiceLinks ??= true;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  const tolerations = (spec.tolerations ??= []);
  for (const key of NODE_PROBLEM_TOLERATIONS) {
    if (!tolerations.some((t) => t.key === key || (t.operator === 'Exists' && !t.key))) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  const status = (pod.status ??= {}) as Mutable<NonNullable<Pod['status']>>;
  status.phase ??= 'Pending';
  if (spec.containers) status.qosClass ??= qosClass(spec);
}

export function defaultService(obj: KObject): void {
  const spec = ((obj as Mutable<Service>).spec ??= {}) as Mutable<NonNullable<Service['spec']>>;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  for (const p of spec.ports ?? []) {
    (p as { protocol?: string }).protocol ??= 'TCP';
    (p as { targetPort?: number | string }).targetPort ??= p.port;
  }
  if (spec.type !== 'ExternalName') {
    spec.internalTrafficPolicy ??= 'Cluster';
    spec.ipFamilyPolicy ??= 'SingleStack';
    spec.ipFamilies ??= ['IPv4'];
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  (obj as { status?: unknown }).status ??= { loadBalancer: {} };
}

export function defaultNamespace(obj: KObject): void {
  const ns = obj as { spec?: { finalizers?: string[] }; status?: { phase?: string } };
  ns.spec ??= {};
  ns.spec.finalizers ??= ['kubernetes'];
  ns.status ??= {};
  ns.status.phase ??= 'Active';
  const labels = (obj.metadata!.labels ??= {});
  // Every namespace carries its own name as a label, so selectors can pick namespaces by name.
  if (obj.metadata!.name) labels['kubernetes.io/metadata.name'] = obj.metadata!.name;
}

/** stringData is write-only: it is folded into data, base64-encoded. */
export function defaultSecret(obj: KObject): void {
  const secret = obj as { type?: string; data?: Record<string, string>; stringData?: Record<string, string> };
  secret.type ??= 'Opaque';
  if (secret.stringData) {
    secret.data = { ...secret.data };
    for (const [k, v] of Object.entries(secret.stringData)) secret.data[k] = Buffer.from(String(v)).toString('base64');
    delete secret.stringData;
  }
}

export function defaultPV(obj: KObject): void {
  const spec = ((obj as { spec?: Record<string, unknown> }).spec ??= {});
  spec.persistentVolumeReclaimPolicy ??= 'Retain';
  spec.volumeMode ??= 'Filesystem';
  (obj as { status?: { phase?: string } }).status ??= { phase: 'Pending' };
}

export function defaultPVC(obj: KObject): void {
  const spec = ((obj as { spec?: Record<string, unknown> }).spec ??= {});
  spec.volumeMode ??= 'Filesystem';
  (obj as { status?: { phase?: string } }).status ??= { phase: 'Pending' };
}

export function defaultStorageClass(obj: KObject): void {
  const sc = obj as { reclaimPolicy?: string; volumeBindingMode?: string };
  sc.reclaimPolicy ??= 'Delete';
  sc.volumeBindingMode ??= 'Immediate';
}
