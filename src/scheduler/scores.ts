// Scores: among the nodes that pass the filters, which suits the pod best. Each plugin gives every
// node 0..100; the weighted sum decides, as kube-scheduler's default profile does.
import { controllerRef } from '../k8s/owners.js';
import { termSelects } from './affinity.js';
import { termMatches, tolerates } from '../k8s/scheduling.js';
import type { CycleState } from './filters.js';
import { podRequests, type NodeInfo, type PodT } from './snapshot.js';

type Score = (state: CycleState, nodes: NodeInfo[]) => number[];

// Kubernetes scores a pod without requests as if it asked for 100m CPU and 200 MiB.
const DEFAULT_CPU = 100;
const DEFAULT_MEMORY = 200 * 2 ** 20;

function fractions(pod: PodT, info: NodeInfo): [cpu: number, memory: number] {
  const want = podRequests(pod);
  const cpu = ((info.requested.cpu ?? 0) + (want.cpu || DEFAULT_CPU)) / (info.allocatable.cpu || 1);
  const memory = ((info.requested.memory ?? 0) + (want.memory || DEFAULT_MEMORY)) / (info.allocatable.memory || 1);
  return [Math.min(cpu, 1), Math.min(memory, 1)];
}

const leastAllocated: Score = ({ pod }, nodes) =>
  nodes.map((info) => {
    const [cpu, memory] = fractions(pod, info);
    return ((1 - cpu) * 100 + (1 - memory) * 100) / 2;
  });

const balancedAllocation: Score = ({ pod }, nodes) =>
  nodes.map((info) => {
    const [cpu, memory] = fractions(pod, info);
    return 100 - Math.abs(cpu - memory) * 100;
  });

/** Raw per-node values scaled so the best node gets 100 (or reversed: the fewest gets 100). */
function normalize(raw: number[], reverse = false): number[] {
  const max = Math.max(...raw.map(Math.abs), 0);
  if (max === 0) return raw.map(() => (reverse ? 100 : 0));
  return raw.map((v) => (reverse ? 100 - (v * 100) / max : (v * 100) / max));
}

const preferredNodeAffinity: Score = ({ pod }, nodes) =>
  normalize(
    nodes.map((info) =>
      (pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).reduce(
        (sum, p) => sum + (termMatches(p.preference, info.node) ? p.weight : 0),
        0,
      ),
    ),
  );

const preferNoScheduleTaints: Score = ({ pod }, nodes) =>
  normalize(
    nodes.map(
      (info) =>
        (info.node.spec?.taints ?? []).filter((t) => t.effect === 'PreferNoSchedule' && !tolerates(pod.spec?.tolerations, t)).length,
    ),
    true,
  );

const preferredPodAffinity: Score = (state, nodes) => {
  const { pod } = state;
  const terms = [
    ...(pod.spec?.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => ({ ...w, sign: 1 })),
    ...(pod.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => ({ ...w, sign: -1 })),
  ];
  if (!terms.length) return nodes.map(() => 0);
  const raw = nodes.map((info) => {
    let sum = 0;
    for (const { podAffinityTerm: term, weight, sign } of terms) {
      const domain = info.node.metadata?.labels?.[term.topologyKey];
      if (domain === undefined) continue;
      const near = [...state.infos.values()].filter((i) => i.node.metadata?.labels?.[term.topologyKey] === domain);
      if (near.some((i) => i.pods.some((p) => termSelects(term, pod, p)))) sum += sign * weight;
    }
    return sum;
  });
  const min = Math.min(...raw);
  const max = Math.max(...raw);
  return raw.map((v) => (max === min ? 0 : ((v - min) * 100) / (max - min)));
};

/** Soft topology spread constraints, plus spreading a controller's pods across nodes by default. */
const spreading: Score = (state, nodes) => {
  const { pod } = state;
  const owner = controllerRef(pod);
  const soft = state.spread.filter((s) => s.constraint.whenUnsatisfiable === 'ScheduleAnyway');
  const raw = nodes.map((info) => {
    let n = 0;
    for (const s of soft) {
      const domain = info.node.metadata?.labels?.[s.constraint.topologyKey];
      n += domain === undefined ? 0 : (s.counts.get(domain) ?? 0);
    }
    if (!soft.length && owner) n += info.controllers.get(owner.uid) ?? 0;
    return n;
  });
  return normalize(raw, true);
};

const SCORES: [Score, number][] = [
  [leastAllocated, 1],
  [balancedAllocation, 1],
  [preferredNodeAffinity, 2],
  [preferNoScheduleTaints, 3],
  [preferredPodAffinity, 2],
  [spreading, 2],
];

/** The weighted total per node, in the order given. */
export function scoreNodes(state: CycleState, nodes: NodeInfo[]): number[] {
  const totals = nodes.map(() => 0);
  for (const [score, weight] of SCORES)
    score(state, nodes).forEach((s, i) => {
      totals[i]! += s * weight;
    });
  return totals;
}
