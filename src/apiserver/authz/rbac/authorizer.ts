// The RBAC authorizer (--authorization-mode=RBAC): a request is allowed when a rule bound to the
// user, one of their groups or their service account allows it; otherwise RBAC has no opinion, and
// says which roles it could not find. Its rules, per namespace, also answer SelfSubjectRulesReview.
import type { Authorizer, UserRules } from '../authorizer.js';
import type { RbacCache, RuleSource } from './cache.js';
import { ruleAllows } from './rules.js';

/** An aggregate of errors as upstream prints one: the message alone, or `[a, b]`. */
export function aggregateMessage(errors: Error[]): string {
  const messages = [...new Set(errors.map((e) => e.message))];
  return messages.length === 1 ? messages[0]! : `[${messages.join(', ')}]`;
}

export function rbacAuthorizer(cache: RbacCache): Authorizer {
  return {
    authorize(user, info) {
      let allowedBy: RuleSource | undefined;
      const errors: Error[] = [];
      cache.visitRulesFor(user, info.namespace, (from, rule, err) => {
        if (err) errors.push(err);
        if (rule && ruleAllows(rule, info)) {
          allowedBy = from;
          return false;
        }
        return true;
      });
      if (allowedBy) return { decision: 'allow', reason: `RBAC: allowed by ${allowedBy}` };
      return { decision: 'no-opinion', reason: errors.length ? `RBAC: ${aggregateMessage(errors)}` : '' };
    },
    rulesFor(user, namespace): UserRules {
      const { rules, errors } = cache.rulesFor(user, namespace);
      const out: UserRules = { resourceRules: [], nonResourceRules: [], incomplete: false, errors: errors.map((e) => e.message) };
      for (const r of rules) {
        if (r.resources?.length)
          out.resourceRules.push({
            verbs: r.verbs,
            ...(r.apiGroups ? { apiGroups: r.apiGroups } : {}),
            resources: r.resources,
            ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}),
          });
        if (r.nonResourceURLs?.length) out.nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
      }
      return out;
    },
  };
}
