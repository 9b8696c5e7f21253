// rbac.authorization.k8s.io/v1 validation and defaults, as upstream's: rules say what they apply to
// (verbs, and either resources with their groups or, in ClusterRoles only, URLs), bindings refer to
// a role of this group by kind and name and never change it, subjects are users, groups or service
// accounts (a ClusterRoleBinding's with their namespace).
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import type { FieldError } from '../../k8s/errors.js';
import type { KObject } from '../../k8s/object.js';
import { invalidValue, notSupported, required } from './names.js';

const GROUP = 'rbac.authorization.k8s.io';

/** User and Group subjects default to this group, ServiceAccount ones to the core group. */
export function defaultSubjects(obj: KObject): void {
  for (const s of (obj.subjects ?? []) as Subject[])
    if (!s.apiGroup) (s as { apiGroup?: string }).apiGroup = s.kind === 'User' || s.kind === 'Group' ? GROUP : '';
}

function validateRule(rule: PolicyRule, namespaced: boolean, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (!rule.verbs?.length) errors.push(required(`${path}.verbs`, 'verbs must contain at least one value'));
  if (rule.nonResourceURLs?.length) {
    if (namespaced)
      errors.push(invalidValue(`${path}.nonResourceURLs`, rule.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
    if (rule.apiGroups?.length || rule.resources?.length || rule.resourceNames?.length)
      errors.push(
        invalidValue(`${path}.nonResourceURLs`, rule.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'),
      );
    return errors;
  }
  if (!rule.apiGroups?.length) errors.push(required(`${path}.apiGroups`, 'resource rules must supply at least one api group'));
  if (!rule.resources?.length) errors.push(required(`${path}.resources`, 'resource rules must supply at least one resource'));
  return errors;
}

const validateRules = (rules: readonly PolicyRule[] | undefined, namespaced: boolean) =>
  (rules ?? []).flatMap((r, i) => validateRule(r, namespaced, `rules[${i}]`));

export const validateRole = (role: Role): FieldError[] => validateRules(role.rules, true);

export function validateClusterRole(role: ClusterRole): FieldError[] {
  const errors = validateRules(role.rules, false);
  if (role.aggregationRule && !role.aggregationRule.clusterRoleSelectors?.length)
    errors.push(
      required('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil'),
    );
  return errors;
}

function validateSubject(s: Subject, namespaced: boolean, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (!s.name) errors.push(required(`${path}.name`));
  if (s.kind === 'ServiceAccount') {
    if (s.apiGroup) errors.push(notSupported(`${path}.apiGroup`, s.apiGroup, ['']));
    if (!namespaced && !s.namespace) errors.push(required(`${path}.namespace`));
  } else if (s.kind === 'User' || s.kind === 'Group') {
    if (s.apiGroup !== GROUP) errors.push(notSupported(`${path}.apiGroup`, s.apiGroup ?? '', [GROUP]));
  } else errors.push(notSupported(`${path}.kind`, s.kind ?? '', ['ServiceAccount', 'User', 'Group']));
  return errors;
}

/** The roleRef as upstream prints it (Go's %#v of its internal type). */
const goRoleRef = (r: RoleBinding['roleRef']) =>
  `rbac.RoleRef{APIGroup:${JSON.stringify(r.apiGroup ?? '')}, Kind:${JSON.stringify(r.kind ?? '')}, Name:${JSON.stringify(r.name ?? '')}}`;

function validateBinding(b: RoleBinding | ClusterRoleBinding, old: RoleBinding | ClusterRoleBinding | undefined, namespaced: boolean) {
  const errors: FieldError[] = [];
  const ref = b.roleRef ?? ({} as RoleBinding['roleRef']);
  if (ref.apiGroup !== GROUP) errors.push(notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind)) errors.push(notSupported('roleRef.kind', ref.kind ?? '', kinds));
  if (!ref.name) errors.push(required('roleRef.name'));
  else if (ref.name === '.' || ref.name === '..' || /[/%]/.test(ref.name))
    errors.push(invalidValue('roleRef.name', ref.name, `may not ${ref.name.length <= 2 ? `be '${ref.name}'` : "contain '/' or '%'"}`));
  for (const [i, s] of (b.subjects ?? []).entries()) errors.push(...validateSubject(s, namespaced, `subjects[${i}]`));
  const was = old?.roleRef;
  if (was && (was.apiGroup !== ref.apiGroup || was.kind !== ref.kind || was.name !== ref.name))
    errors.push({
      field: 'roleRef',
      type: 'FieldValueInvalid',
      detail: `Invalid value: ${goRoleRef(ref)}: cannot change roleRef`,
    });
  return errors;
}

export const validateRoleBinding = (b: RoleBinding, old?: RoleBinding) => validateBinding(b, old, true);
export const validateClusterRoleBinding = (b: ClusterRoleBinding, old?: ClusterRoleBinding) => validateBinding(b, old, false);
