// The pods of the kubelet's /stats/summary document (src/k8s/kubelet-stats.ts), built from plain
// readings of containers, so the shape is tested without a node.
import type { ContainerStats, CpuStats, MemoryStats, PodStats } from '../../k8s/kubelet-stats.js';
import { POD_NAME, POD_NAMESPACE, POD_UID, CONTAINER_NAME } from '../pods/labels.js';

/** One running container's reading, from the runtime. */
export interface ContainerReading {
  labels: Record<string, string>;
  /** Nanoseconds since the epoch. */
  createdAtNs: number;
  cpu: CpuStats;
  memory: MemoryStats;
}

const latest = (a: string, b: string) => (a > b ? a : b);

/** A pod's usage is its containers' summed (the sandbox's own is negligible and not counted). */
function podTotals(containers: ContainerStats[]): { cpu: CpuStats; memory: MemoryStats } {
  const rates = containers.map((c) => c.cpu.usageNanoCores);
  const cpu: CpuStats = {
    time: containers.map((c) => c.cpu.time).reduce(latest),
    usageCoreNanoSeconds: containers.reduce((n, c) => n + c.cpu.usageCoreNanoSeconds, 0),
    // A pod has a rate once every container has one: a partial sum would under-report.
    ...(rates.every((r) => r !== undefined) ? { usageNanoCores: rates.reduce((n, r) => n + r!, 0) } : {}),
  };
  const memory: MemoryStats = {
    time: containers.map((c) => c.memory.time).reduce(latest),
    workingSetBytes: containers.reduce((n, c) => n + c.memory.workingSetBytes, 0),
    usageBytes: containers.reduce((n, c) => n + (c.memory.usageBytes ?? 0), 0),
  };
  return { cpu, memory };
}

/** Groups container readings into pods by the labels the kubelet put on them. */
export function podStats(readings: ContainerReading[]): PodStats[] {
  const pods = new Map<string, PodStats>();
  for (const r of readings) {
    const uid = r.labels[POD_UID];
    const name = r.labels[POD_NAME];
    const namespace = r.labels[POD_NAMESPACE];
    const container = r.labels[CONTAINER_NAME];
    if (!uid || !name || !namespace || !container) continue; // not one of the kubelet's
    const startTime = new Date(r.createdAtNs / 1e6).toISOString();
    let pod = pods.get(uid);
    if (!pod) {
      pod = { podRef: { name, namespace, uid }, startTime, containers: [], cpu: r.cpu, memory: r.memory };
      pods.set(uid, pod);
    }
    if (startTime < pod.startTime) pod.startTime = startTime;
    pod.containers.push({ name: container, startTime, cpu: r.cpu, memory: r.memory });
  }
  for (const pod of pods.values()) {
    pod.containers.sort((a, b) => a.name.localeCompare(b.name));
    Object.assign(pod, podTotals(pod.containers));
  }
  return [...pods.values()].sort((a, b) =>
    `${a.podRef.namespace}/${a.podRef.name}`.localeCompare(`${b.podRef.namespace}/${b.podRef.name}`),
  );
}
