// Members of system:masters may do everything, before any other authorizer is asked (upstream's
// privileged-group authorizer): the admin kubeconfig keeps working whatever RBAC's objects say.
import type { Authorizer } from './authorizer.js';

export const SYSTEM_MASTERS = 'system:masters';

export function privilegedGroups(...groups: string[]): Authorizer {
  return {
    authorize: (user) => (user.groups.some((g) => groups.includes(g)) ? { decision: 'allow', reason: '' } : { decision: 'no-opinion' }),
  };
}
