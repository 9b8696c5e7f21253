// Matching rules shared by filters and scores: node selector terms, tolerations, and pod
// (anti-)affinity terms against the pods already placed.
import type { NodeSelectorRequirement, NodeSelectorTerm, PodAffinityTerm, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { fromLabelSelector, matches } from '../api/selectors.js';
import type { Writable } from '../client/resources.js';
import type { NodeInfo, NodeT, PodT } from './snapshot.js';

function requirementMatches(r: Writable<NodeSelectorRequirement>, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && (r.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(r.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const bound = Number(r.values?.[0]);
      return r.operator === 'Gt' ? Number(value) > bound : Number(value) < bound;
    }
    default:
      return false;
  }
}

export function termMatches(term: Writable<NodeSelectorTerm>, node: NodeT): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  return exprs.every((r) => requirementMatches(r, node.metadata?.labels?.[r.key])) && fields.every((r) => requirementMatches(r, r.key === 'metadata.name' ? node.metadata?.name : undefined));
}

/** nodeSelector and required node affinity together. */
export function nodeAffinityMatches(pod: PodT, node: NodeT): boolean {
  const labels = node.metadata?.labels ?? {};
  if (!Object.entries(pod.spec?.nodeSelector ?? {}).every(([k, v]) => labels[k] === v)) return false;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return !terms || terms.some((t) => termMatches(t, node));
}

export function tolerates(tolerations: Writable<Toleration>[] | undefined, taint: Writable<Taint>): boolean {
  return (tolerations ?? []).some(
    (t) =>
      (!t.effect || t.effect === taint.effect) &&
      (t.key === undefined || t.key === '' ? t.operator === 'Exists' : t.key === taint.key) &&
      (t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '')),
  );
}

/** The pods a term selects: by label selector, in the term's namespaces (the pod's own by default). */
export function termSelects(term: Writable<PodAffinityTerm>, owner: PodT, candidate: PodT): boolean {
  const namespaces = term.namespaces?.length ? term.namespaces : term.namespaceSelector ? undefined : [owner.metadata?.namespace];
  if (namespaces && !namespaces.includes(candidate.metadata?.namespace)) return false;
  const sel = fromLabelSelector(term.labelSelector);
  return !!sel && matches(sel, candidate.metadata?.labels);
}

/** Topology domains (values of the term's key) holding a pod the term selects. */
export function domainsWithMatch(term: Writable<PodAffinityTerm>, owner: PodT, infos: Iterable<NodeInfo>): Set<string> {
  const out = new Set<string>();
  for (const info of infos) {
    const domain = info.node.metadata?.labels?.[term.topologyKey];
    if (domain === undefined) continue;
    if (info.pods.some((p) => p.metadata?.uid !== owner.metadata?.uid && termSelects(term, owner, p))) out.add(domain);
  }
  return out;
}
