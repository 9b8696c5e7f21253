// Preemption: a pod no node can take may make room on one by evicting pods of lower priority, as
// kube-scheduler does. Only nodes that failed for reasons removing pods can fix (resources, pod
// count, host ports) are considered; on each, every lower-priority pod is set aside, and then as
// many as still fit are spared, highest priority first. The node whose victims matter least wins:
// lowest top priority among them, then lowest sum of priorities, then fewest.
import { cycleState, filterNode } from './filters.js';
import { buildSnapshot, type NodeInfo, type PodT } from './snapshot.js';

const REMOVABLE = (reason: string) =>
  reason.startsWith('Insufficient ') ||
  reason === 'Too many pods' ||
  reason === "node(s) didn't have free ports for the requested pod ports";

export interface Preemption {
  node: string;
  victims: PodT[];
}

const priorityOf = (p: PodT) => p.spec?.priority ?? 0;

function fits(pod: PodT, info: NodeInfo, pods: PodT[]): boolean {
  const infos = buildSnapshot([info.node], pods);
  const trial = infos.get(info.node.metadata!.name!)!;
  return filterNode(cycleState(pod, infos), trial) === undefined;
}

export function findPreemption(pod: PodT, infos: Map<string, NodeInfo>, failures: Map<string, string[]>): Preemption | undefined {
  if (pod.spec?.preemptionPolicy === 'Never') return undefined;
  const priority = priorityOf(pod);
  // Already made room that is still being freed: wait for it rather than evict more.
  const nominated = infos.get(pod.status?.nominatedNodeName ?? '');
  if (nominated?.pods.some((p) => p.metadata?.deletionTimestamp && priorityOf(p) < priority)) return undefined;
  const candidates: (Preemption & { top: number; sum: number })[] = [];
  for (const [name, info] of infos) {
    const reasons = failures.get(name);
    if (!reasons?.length || !reasons.every(REMOVABLE)) continue;
    const lower = info.pods.filter((p) => priorityOf(p) < priority && !p.metadata?.deletionTimestamp);
    if (!lower.length) continue;
    const kept = info.pods.filter((p) => !lower.includes(p));
    if (!fits(pod, info, kept)) continue;
    const victims: PodT[] = [];
    for (const p of [...lower].sort((a, b) => priorityOf(b) - priorityOf(a))) {
      if (fits(pod, info, [...kept, p])) kept.push(p);
      else victims.push(p);
    }
    candidates.push({
      node: name,
      victims,
      top: Math.max(...victims.map(priorityOf)),
      sum: victims.reduce((n, p) => n + priorityOf(p), 0),
    });
  }
  candidates.sort((a, b) => a.top - b.top || a.sum - b.sum || a.victims.length - b.victims.length);
  const best = candidates[0];
  return best && { node: best.node, victims: best.victims };
}
