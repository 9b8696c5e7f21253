// RBAC's rule matching, as upstream's RuleAllows: a request is allowed by a PolicyRule when its verb,
// API group, resource (`resource/subresource`, or `*/subresource`) and name match, or, for a path
// that is no resource, its verb and URL (exact, `*`, or a prefix ending in `*`).
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import type { Writable } from '../../../k8s/object.js';
import type { RequestInfo } from '../request-info.js';

export type Rule = Writable<PolicyRule>;

/** What a rule is asked about: RequestInfo's fields that authorization reads. */
export type Attributes = Pick<
  RequestInfo,
  'isResourceRequest' | 'verb' | 'path' | 'apiGroup' | 'resource' | 'subresource' | 'name' | 'namespace'
>;

export const verbMatches = (rule: Rule, verb: string) => (rule.verbs ?? []).some((v) => v === '*' || v === verb);

export const apiGroupMatches = (rule: Rule, group: string) => (rule.apiGroups ?? []).some((g) => g === '*' || g === group);

export function resourceMatches(rule: Rule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

export const resourceNameMatches = (rule: Rule, name: string) => !rule.resourceNames?.length || rule.resourceNames.includes(name);

export function nonResourceURLMatches(rule: Rule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))) return true;
  }
  return false;
}

export function ruleAllows(rule: Rule, a: Attributes): boolean {
  if (!verbMatches(rule, a.verb)) return false;
  if (!a.isResourceRequest) return nonResourceURLMatches(rule, a.path);
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return apiGroupMatches(rule, a.apiGroup) && resourceMatches(rule, combined, a.subresource) && resourceNameMatches(rule, a.name);
}

/** A resource request asked about without an HTTP request (impersonation, escalation checks). */
export function resourceAttributes(a: Partial<RequestInfo> & { verb: string; resource: string }): RequestInfo {
  return { isResourceRequest: true, path: '', apiGroup: '', apiVersion: '', subresource: '', name: '', namespace: '', ...a };
}
