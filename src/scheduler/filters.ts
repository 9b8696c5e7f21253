// Filters: can this pod run on this node? Each answers nothing (yes) or Kubernetes' own words for
// why not, which the scheduler counts into "0/3 nodes are available: ...". A node is judged by the
// first filter it fails, as kube-scheduler does.
import type { TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { fromLabelSelector, matches } from '../k8s/selectors.js';
import type { Writable } from '../client/resources.js';
import { domainsWithMatch, termSelects } from './affinity.js';
import { nodeAffinityMatches, tolerates } from '../k8s/scheduling.js';
import { hostPorts, podRequests, type NodeInfo, type PodT } from './snapshot.js';

export interface CycleState {
  pod: PodT;
  infos: Map<string, NodeInfo>;
  /** Per required affinity / anti-affinity term: the domains where it finds a pod. */
  affinityDomains: Set<string>[];
  antiAffinityDomains: Set<string>[];
  /** Whether any pod in the cluster matches all affinity terms (if none, the first pod may go anywhere). */
  affinityHasMatch: boolean;
  /** Per topology key: the domains where a placed pod's required anti-affinity turns this pod away. */
  existingAntiAffinity: Map<string, Set<string>>;
  spread: SpreadState[];
}

interface SpreadState {
  constraint: Writable<TopologySpreadConstraint>;
  counts: Map<string, number>;
  selfMatches: boolean;
}

type Filter = (state: CycleState, info: NodeInfo) => string[] | undefined;

const nodeName: Filter = ({ pod }, { node }) =>
  pod.spec?.nodeName && pod.spec.nodeName !== node.metadata?.name ? ["node(s) didn't match the requested node name"] : undefined;

const unschedulable: Filter = ({ pod }, { node }) =>
  node.spec?.unschedulable && !tolerates(pod.spec?.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })
    ? ['node(s) were unschedulable']
    : undefined;

const taints: Filter = ({ pod }, { node }) => {
  const taint = (node.spec?.taints ?? []).find(
    (t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(pod.spec?.tolerations, t),
  );
  return taint ? [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`] : undefined;
};

const nodeAffinity: Filter = ({ pod }, { node }) =>
  nodeAffinityMatches(pod, node) ? undefined : ["node(s) didn't match Pod's node affinity/selector"];

const fit: Filter = ({ pod }, info) => {
  const reasons: string[] = [];
  if ((info.requested.pods ?? 0) + 1 > (info.allocatable.pods ?? 0)) reasons.push('Too many pods');
  for (const [name, want] of Object.entries(podRequests(pod))) {
    if (want > 0 && (info.requested[name] ?? 0) + want > (info.allocatable[name] ?? 0)) reasons.push(`Insufficient ${name}`);
  }
  return reasons.length ? reasons : undefined;
};

const ports: Filter = ({ pod }, info) => {
  const clash = hostPorts(pod).some(({ protocol, hostIP, port }) =>
    hostIP === '0.0.0.0'
      ? [...info.ports.keys()].some((u) => u.startsWith(`${protocol}/`) && u.endsWith(`/${port}`))
      : info.ports.has(`${protocol}/${hostIP}/${port}`) || info.ports.has(`${protocol}/0.0.0.0/${port}`),
  );
  return clash ? ["node(s) didn't have free ports for the requested pod ports"] : undefined;
};

const podAffinity: Filter = (state, info) => {
  const labels = info.node.metadata?.labels ?? {};
  const { pod } = state;
  const affinity = pod.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  const ok = affinity.every((term, i) => {
    const domain = labels[term.topologyKey];
    if (domain === undefined) return false;
    if (state.affinityDomains[i]!.has(domain)) return true;
    // The first pod of a group that selects itself may start the group anywhere.
    return !state.affinityHasMatch && termSelects(term, pod, pod);
  });
  if (!ok) return ["node(s) didn't match pod affinity rules"];
  const anti = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  if (anti.some((term, i) => labels[term.topologyKey] !== undefined && state.antiAffinityDomains[i]!.has(labels[term.topologyKey]!)))
    return ["node(s) didn't match pod anti-affinity rules"];
  for (const [key, domains] of state.existingAntiAffinity)
    if (labels[key] !== undefined && domains.has(labels[key])) return ["node(s) didn't satisfy existing pods anti-affinity rules"];
  return undefined;
};

const topologySpread: Filter = (state, info) => {
  for (const s of state.spread) {
    if (s.constraint.whenUnsatisfiable !== 'DoNotSchedule') continue;
    const domain = info.node.metadata?.labels?.[s.constraint.topologyKey];
    if (domain === undefined) return ["node(s) didn't match pod topology spread constraints (missing required label)"];
    const min = s.counts.size && (s.constraint.minDomains ?? 1) <= s.counts.size ? Math.min(...s.counts.values()) : 0;
    if ((s.counts.get(domain) ?? 0) + (s.selfMatches ? 1 : 0) - min > s.constraint.maxSkew)
      return ["node(s) didn't match pod topology spread constraints"];
  }
  return undefined;
};

export const FILTERS: Filter[] = [nodeName, unschedulable, taints, nodeAffinity, fit, ports, podAffinity, topologySpread];

/** Per-cycle facts the affinity and spread filters (and scores) need, computed once per pod. */
export function cycleState(pod: PodT, infos: Map<string, NodeInfo>): CycleState {
  const affinity = pod.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  const anti = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  const affinityDomains = affinity.map((term) => domainsWithMatch(term, pod, infos.values()));
  const everyPod = affinity.length ? [...infos.values()].flatMap((i) => i.pods) : [];
  const spread = (pod.spec?.topologySpreadConstraints ?? []).map((constraint) => {
    const sel = fromLabelSelector(constraint.labelSelector);
    const counts = new Map<string, number>();
    for (const info of infos.values()) {
      const domain = info.node.metadata?.labels?.[constraint.topologyKey];
      // Only nodes the pod could go to by its node affinity count as domains (nodeAffinityPolicy Honor).
      if (domain === undefined || (constraint.nodeAffinityPolicy !== 'Ignore' && !nodeAffinityMatches(pod, info.node))) continue;
      const n = info.pods.filter(
        (p) => p.metadata?.namespace === pod.metadata?.namespace && !!sel && matches(sel, p.metadata?.labels),
      ).length;
      counts.set(domain, (counts.get(domain) ?? 0) + n);
    }
    return { constraint, counts, selfMatches: !!sel && matches(sel, pod.metadata?.labels) };
  });
  return {
    pod,
    infos,
    affinityDomains,
    antiAffinityDomains: anti.map((term) => domainsWithMatch(term, pod, infos.values())),
    affinityHasMatch: affinity.length > 0 && everyPod.some((p) => affinity.every((term) => termSelects(term, pod, p))),
    existingAntiAffinity: existingAntiAffinity(pod, infos),
    spread,
  };
}

/** Where pods already placed reject `pod` by their required anti-affinity: the domains of their own nodes. */
function existingAntiAffinity(pod: PodT, infos: Map<string, NodeInfo>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const info of infos.values()) {
    for (const existing of info.antiAffinityPods) {
      for (const term of existing.spec!.affinity!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution!) {
        const domain = info.node.metadata?.labels?.[term.topologyKey];
        if (domain === undefined || !termSelects(term, existing, pod)) continue;
        let domains = out.get(term.topologyKey);
        if (!domains) out.set(term.topologyKey, (domains = new Set()));
        domains.add(domain);
      }
    }
  }
  return out;
}

export function filterNode(state: CycleState, info: NodeInfo): string[] | undefined {
  for (const f of FILTERS) {
    const reasons = f(state, info);
    if (reasons) return reasons;
  }
  return undefined;
}
