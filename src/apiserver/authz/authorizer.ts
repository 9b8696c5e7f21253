// Authorization: each request's RequestInfo and user, asked of a chain of authorizers (Node, then
// RBAC, as kube-apiserver's --authorization-mode=Node,RBAC): the first that allows or denies
// decides; if none does, the request is forbidden, in upstream's words.
import { ApiError } from '../../k8s/errors.js';
import type { UserInfo } from '../authn.js';
import type { RequestInfo } from './request-info.js';

export type Decision = { decision: 'allow' | 'deny' | 'no-opinion'; reason?: string };

export interface ResourceRuleInfo {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

export interface NonResourceRuleInfo {
  verbs: string[];
  nonResourceURLs: string[];
}

/** What a user may do in a namespace (SelfSubjectRulesReview), as far as an authorizer can tell. */
export interface UserRules {
  resourceRules: ResourceRuleInfo[];
  nonResourceRules: NonResourceRuleInfo[];
  /** The authorizer decides on more than rules it can list (the Node authorizer). */
  incomplete: boolean;
  errors: string[];
}

export interface Authorizer {
  authorize(user: UserInfo, info: RequestInfo): Promise<Decision> | Decision;
  /** Upstream's RuleResolver; an authorizer without it lists nothing. */
  rulesFor?(user: UserInfo, namespace: string): UserRules;
}

/** Everything is allowed: for tests of the API alone and until a policy is configured. */
export const allowAll: Authorizer = { authorize: () => ({ decision: 'allow', reason: 'every request is allowed' }) };

/** The chain: the first authorizer with an opinion decides. */
export function union(...authorizers: Authorizer[]): Authorizer {
  return {
    async authorize(user, info) {
      const reasons: string[] = [];
      for (const a of authorizers) {
        const d = await a.authorize(user, info);
        if (d.decision !== 'no-opinion') return d;
        if (d.reason) reasons.push(d.reason);
      }
      return { decision: 'no-opinion', reason: reasons.join(', ') };
    },
    rulesFor(user, namespace) {
      const all: UserRules = { resourceRules: [], nonResourceRules: [], incomplete: false, errors: [] };
      for (const a of authorizers) {
        const r = a.rulesFor?.(user, namespace);
        if (!r) continue;
        all.resourceRules.push(...r.resourceRules);
        all.nonResourceRules.push(...r.nonResourceRules);
        all.incomplete ||= r.incomplete;
        all.errors.push(...r.errors);
      }
      return all;
    },
  };
}

/** `pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"` */
export function forbidden(user: UserInfo, info: RequestInfo, reason?: string): ApiError {
  const who = `User "${user.username}"`;
  const why = reason ? `: ${reason}` : '';
  if (!info.isResourceRequest) {
    return new ApiError(403, 'Forbidden', `forbidden: ${who} cannot ${info.verb} path "${info.path}"${why}`);
  }
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const named = info.name ? ` "${info.name}"` : '';
  const scope = info.namespace ? ` in the namespace "${info.namespace}"` : ' at the cluster scope';
  const qualified = info.apiGroup ? `${info.resource}.${info.apiGroup}` : info.resource;
  return new ApiError(
    403,
    'Forbidden',
    `${qualified}${named} is forbidden: ${who} cannot ${info.verb} resource "${resource}" in API group "${info.apiGroup}"${scope}${why}`,
    { name: info.name || undefined, group: info.apiGroup || undefined, kind: info.resource },
  );
}
