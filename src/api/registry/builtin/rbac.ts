// rbac.authorization.k8s.io/v1. Names are path segments (`system:controller:x` is valid).
import type { ClusterRoleBinding, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { withMeta } from '../../validation/object-meta.js';
import {
  defaultSubjects,
  validateClusterRole,
  validateClusterRoleBinding,
  validateRole,
  validateRoleBinding,
} from '../../validation/rbac.js';
import type { ResourceDef } from '../types.js';
import { age, col } from './columns.js';

const rbac = (d: Omit<ResourceDef, 'group' | 'version' | 'schemaName'>): ResourceDef => ({
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  schemaName: `io.k8s.api.rbac.v1.${d.kind}`,
  ...d,
});

const subjects = (kind: string) => (b: RoleBinding | ClusterRoleBinding) =>
  (b.subjects ?? [])
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name))
    .join(', ');

const bindingColumns = [
  col('Role', (b: RoleBinding) => `${b.roleRef.kind}/${b.roleRef.name}`),
  age,
  col('Users', subjects('User'), { wide: true }),
  col('Groups', subjects('Group'), { wide: true }),
  col('ServiceAccounts', subjects('ServiceAccount'), { wide: true }),
];

export const rbacResources: ResourceDef[] = [
  rbac({ kind: 'Role', plural: 'roles', singular: 'role', namespaced: true, validate: withMeta('roles', validateRole) }),
  rbac({
    kind: 'ClusterRole',
    plural: 'clusterroles',
    singular: 'clusterrole',
    namespaced: false,
    validate: withMeta('clusterroles', validateClusterRole),
  }),
  rbac({
    kind: 'RoleBinding',
    plural: 'rolebindings',
    singular: 'rolebinding',
    namespaced: true,
    columns: bindingColumns,
    defaults: defaultSubjects,
    validate: withMeta('rolebindings', validateRoleBinding),
  }),
  rbac({
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    singular: 'clusterrolebinding',
    namespaced: false,
    columns: bindingColumns,
    defaults: defaultSubjects,
    validate: withMeta('clusterrolebindings', validateClusterRoleBinding),
  }),
];
