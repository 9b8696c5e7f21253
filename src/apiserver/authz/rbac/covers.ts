// Whether one set of rules covers another, as upstream's validation.Covers: each rule asked about is
// broken down into one verb on one resource (and name) or one URL, and each piece must be covered by
// one rule of the owner's. What is left uncovered is compacted and printed as upstream prints it.
import type { Rule } from './rules.js';

const has = (set: string[] | undefined, item: string) => (set ?? []).includes(item);
const hasAll = (set: string[] | undefined, items: string[] | undefined) => (items ?? []).every((i) => has(set, i));

/** One rule per (group, resource, verb[, name]) and per (URL, verb). */
export function breakdownRule(rule: Rule): Rule[] {
  const out: Rule[] = [];
  for (const group of rule.apiGroups ?? [])
    for (const resource of rule.resources ?? [])
      for (const verb of rule.verbs)
        if (rule.resourceNames?.length)
          for (const name of rule.resourceNames)
            out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] });
        else out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  return out;
}

function resourceCoversAll(set: string[] | undefined, covers: string[] | undefined): boolean {
  if (has(set, '*') || hasAll(set, covers)) return true;
  for (const path of covers ?? []) {
    if (has(set, path)) continue;
    const slash = path.indexOf('/');
    if (slash < 0 || !has(set, `*/${path.slice(slash + 1)}`)) return false;
  }
  return true;
}

const urlCovers = (owner: string, sub: string) => owner === sub || (owner.endsWith('*') && sub.startsWith(owner.replace(/\*+$/, '')));
const urlsCoverAll = (set: string[] | undefined, covers: string[] | undefined) =>
  (covers ?? []).every((path) => (set ?? []).some((owner) => urlCovers(owner, path)));

export function ruleCovers(owner: Rule, sub: Rule): boolean {
  const verbs = has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs);
  const groups = has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups);
  const names = !sub.resourceNames?.length
    ? !owner.resourceNames?.length
    : !owner.resourceNames?.length || hasAll(owner.resourceNames, sub.resourceNames);
  return (
    verbs &&
    groups &&
    resourceCoversAll(owner.resources, sub.resources) &&
    names &&
    urlsCoverAll(owner.nonResourceURLs, sub.nonResourceURLs)
  );
}

/** Whether `owner`'s rules cover all of `servant`'s, and the broken-down pieces they do not. */
export function covers(owner: Rule[], servant: Rule[]): { covered: boolean; missing: Rule[] } {
  const missing = servant.flatMap(breakdownRule).filter((sub) => !owner.some((o) => ruleCovers(o, sub)));
  return { covered: missing.length === 0, missing };
}

/** Merges rules that differ only in their verbs (one group, one resource, at most one name), as upstream's CompactRules. */
export function compactRules(rules: Rule[]): Rule[] {
  const out: Rule[] = [];
  const simple = new Map<string, Rule>();
  for (const r of rules) {
    const isSimple =
      !r.nonResourceURLs?.length &&
      (r.resourceNames?.length ?? 0) <= 1 &&
      r.apiGroups?.length === 1 &&
      r.resources?.length === 1 &&
      Object.keys(r).every((k) => ['apiGroups', 'resources', 'verbs', 'resourceNames'].includes(k));
    if (!isSimple) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups, r.resources, r.resourceNames ?? null]);
    const known = simple.get(key);
    if (known) known.verbs = [...known.verbs, ...r.verbs];
    else simple.set(key, { ...r, verbs: [...r.verbs] });
  }
  return [...out, ...simple.values()];
}

/** Go's %q of a []string: `["a" "b"]`. */
const q = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;

/** `{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`, as upstream's CompactString. */
export function compactString(r: Rule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${q(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${q(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${q(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${q(r.resourceNames)}`);
  if (r.verbs.length) parts.push(`Verbs:${q(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}
