// What the scheduler knows about each node for one decision: the node, the pods on it (bound or
// assumed), the resources they request and the host ports they hold.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { milliValue, parseQuantity } from '../k8s/quantity.js';
import type { Writable } from '../client/resources.js';
import { controllerRef } from '../k8s/owners.js';

export type PodT = Writable<Pod>;
export type NodeT = Writable<Node>;

/** Requests in comparable units: cpu in millicores, the rest in their base units. */
export type Resources = Record<string, number>;

const amount = (name: string, q: string | number) => (name === 'cpu' ? milliValue(q) : parseQuantity(q));

function add(into: Resources, from: Record<string, string | number> | undefined): void {
  for (const [name, q] of Object.entries(from ?? {})) into[name] = (into[name] ?? 0) + amount(name, q);
}

// Informer objects are never changed in place, so a pod object's requests can be remembered.
const requestsCache = new WeakMap<PodT, Resources>();

/** A pod's effective requests: its containers summed, at least each init container, plus overhead. */
export function podRequests(pod: PodT): Resources {
  let cached = requestsCache.get(pod);
  if (!cached) requestsCache.set(pod, (cached = computeRequests(pod)));
  return cached;
}

function computeRequests(pod: PodT): Resources {
  const sum: Resources = {};
  for (const c of pod.spec?.containers ?? []) add(sum, c.resources?.requests as Record<string, string>);
  for (const c of pod.spec?.initContainers ?? []) {
    const init: Resources = {};
    add(init, c.resources?.requests as Record<string, string>);
    for (const [name, v] of Object.entries(init)) sum[name] = Math.max(sum[name] ?? 0, v);
  }
  add(sum, pod.spec?.overhead as Record<string, string>);
  return sum;
}

export function allocatable(node: NodeT): Resources {
  const out: Resources = {};
  add(out, (node.status?.allocatable ?? node.status?.capacity) as Record<string, string>);
  return out;
}

export interface NodeInfo {
  node: NodeT;
  pods: PodT[];
  requested: Resources;
  allocatable: Resources;
  /** "protocol/hostIP/port" of every host port in use, with how many pods hold it. */
  ports: Map<string, number>;
  /** The pods with required anti-affinity terms: only they can turn a newcomer away by their own rules. */
  antiAffinityPods: PodT[];
  /** How many of its pods each controller (by uid) has here, for spreading a controller's pods. */
  controllers: Map<string, number>;
}

export const hostPorts = (pod: PodT) =>
  (pod.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => p.hostPort)
      .map((p) => ({ protocol: p.protocol ?? 'TCP', hostIP: p.hostIP || '0.0.0.0', port: p.hostPort! })),
  );

const portKey = (p: ReturnType<typeof hostPorts>[number]) => `${p.protocol}/${p.hostIP}/${p.port}`;

/** Pods on a node hold its resources until they are gone or have finished. */
export const holdsResources = (pod: PodT) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';

const hasRequiredAntiAffinity = (pod: PodT) =>
  !!pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length;

export function newNodeInfo(node: NodeT): NodeInfo {
  return {
    node,
    pods: [],
    requested: { pods: 0 },
    allocatable: allocatable(node),
    ports: new Map(),
    antiAffinityPods: [],
    controllers: new Map(),
  };
}

/** The snapshot of these nodes with these pods, built from scratch (for a trial or a test). */
export function buildSnapshot(nodes: NodeT[], pods: PodT[]): Map<string, NodeInfo> {
  const infos = new Map<string, NodeInfo>();
  for (const node of nodes) infos.set(node.metadata!.name!, newNodeInfo(node));
  for (const pod of pods) {
    const info = infos.get(pod.spec?.nodeName ?? '');
    if (info && holdsResources(pod)) addPod(info, pod);
  }
  return infos;
}

export function addPod(info: NodeInfo, pod: PodT): void {
  info.pods.push(pod);
  if (hasRequiredAntiAffinity(pod)) info.antiAffinityPods.push(pod);
  count(info, pod, 1);
}

/** Takes back what addPod did for this very pod object. */
export function removePod(info: NodeInfo, pod: PodT): void {
  const i = info.pods.indexOf(pod);
  if (i < 0) return;
  info.pods.splice(i, 1);
  const j = info.antiAffinityPods.indexOf(pod);
  if (j >= 0) info.antiAffinityPods.splice(j, 1);
  count(info, pod, -1);
}

function count(info: NodeInfo, pod: PodT, sign: 1 | -1): void {
  for (const [name, v] of Object.entries(podRequests(pod))) info.requested[name] = (info.requested[name] ?? 0) + sign * v;
  info.requested.pods = (info.requested.pods ?? 0) + sign;
  for (const p of hostPorts(pod)) bump(info.ports, portKey(p), sign);
  const owner = controllerRef(pod)?.uid;
  if (owner) bump(info.controllers, owner, sign);
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
