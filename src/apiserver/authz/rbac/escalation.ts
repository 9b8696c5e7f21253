// Escalation prevention, as upstream's RBAC storage: nobody grants permissions they do not hold.
// Creating or updating a Role or ClusterRole needs every one of its rules (or `escalate` on it);
// creating or updating a binding needs every rule of the role it refers to (or `bind` on that role).
// system:masters may do both, and so may the server's own writes (no requester).
import type { RoleRef } from 'kubernetes-types/rbac/v1.js';
import type { AdmissionPlugin } from '../../../api/admission/plugin.js';
import type { ResourceDef } from '../../../api/registry/types.js';
import { ApiError } from '../../../k8s/errors.js';
import type { KObject } from '../../../k8s/object.js';
import type { UserInfo } from '../../authn.js';
import type { Authorizer } from '../authorizer.js';
import { SYSTEM_MASTERS } from '../privileged.js';
import type { RbacCache } from './cache.js';
import { compactRules, compactString, covers } from './covers.js';
import { resourceAttributes, type Rule } from './rules.js';

const RBAC = 'rbac.authorization.k8s.io';

/** Go's %q of a []string. */
const quoted = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;

function forbiddenGrant(def: ResourceDef, name: string, message: string): ApiError {
  return new ApiError(403, 'Forbidden', `${def.plural}.${def.group} "${name}" is forbidden: ${message}`, {
    name,
    group: def.group,
    kind: def.plural,
  });
}

/** Nothing but ownerReferences, finalizers and managedFields changed (what the garbage collector writes). */
function onlyGarbageCollectorFields(obj: KObject, old: KObject): boolean {
  const strip = (o: KObject) => {
    const { ownerReferences: _o, finalizers: _f, managedFields: _m, resourceVersion: _r, generation: _g, ...meta } = o.metadata ?? {};
    const { status: _s, ...rest } = o;
    return JSON.stringify({ ...rest, apiVersion: undefined, kind: undefined, metadata: meta });
  };
  return strip(obj) === strip(old);
}

/** Upstream's ConfirmNoEscalation: the requester's own rules in the namespace must cover `rules`. */
export function confirmNoEscalation(cache: RbacCache, user: UserInfo, namespace: string, rules: Rule[]): string | undefined {
  const own = cache.rulesFor(user, namespace);
  const { covered, missing } = covers(own.rules, rules);
  if (covered) return undefined;
  const lines = [...new Set(compactRules(missing).map(compactString))].sort();
  const who = `user "${user.username}" (groups=${quoted(user.groups)})`;
  let msg = `${who} is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
  if (own.errors.length) msg += `; resolution errors: [${own.errors.map((e) => e.message).join(' ')}]`;
  return msg;
}

export function escalationAdmission(cache: RbacCache, authorizer: Authorizer): AdmissionPlugin {
  const allowed = async (user: UserInfo, verb: string, resource: string, namespace: string, name: string) =>
    (await authorizer.authorize(user, resourceAttributes({ verb, apiGroup: RBAC, apiVersion: '*', resource, namespace, name })))
      .decision === 'allow';

  return {
    group: RBAC,
    resource: '*',
    async admit(def, obj, old, ctx) {
      const user = ctx.user;
      if (def.group !== RBAC || !user || user.groups.includes(SYSTEM_MASTERS)) return;
      if (old && onlyGarbageCollectorFields(obj, old)) return;
      const namespace = def.namespaced ? (obj.metadata?.namespace ?? '') : '';
      const name = obj.metadata?.name ?? '';
      let rules: Rule[];
      if (def.plural === 'roles' || def.plural === 'clusterroles') {
        if (await allowed(user, 'escalate', def.plural, namespace, name)) return;
        rules = (obj.rules ?? []) as Rule[];
      } else if (def.plural === 'rolebindings' || def.plural === 'clusterrolebindings') {
        const ref = obj.roleRef as RoleRef | undefined;
        if (!ref) return; // validation refuses it
        const refResource = ref.kind === 'Role' ? 'roles' : 'clusterroles';
        if (await allowed(user, 'bind', refResource, namespace, ref.name)) return;
        try {
          rules = cache.roleReferenceRules(ref, namespace);
        } catch {
          throw new ApiError(404, 'NotFound', `${refResource}.${RBAC} "${ref.name}" not found`, {
            name: ref.name,
            group: RBAC,
            kind: refResource,
          });
        }
      } else return;
      const refused = confirmNoEscalation(cache, user, namespace, rules);
      if (refused) throw forbiddenGrant(def, name, refused);
    },
  };
}
