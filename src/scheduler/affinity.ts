// Pod (anti-)affinity terms against the pods already placed, shared by filters and scores; node
// selector and toleration matching, which controllers use too, is in k8s/scheduling.ts.
import type { PodAffinityTerm } from 'kubernetes-types/core/v1.js';
import { fromLabelSelector, matches } from '../k8s/selectors.js';
import type { Writable } from '../client/resources.js';
import type { NodeInfo, PodT } from './snapshot.js';

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
