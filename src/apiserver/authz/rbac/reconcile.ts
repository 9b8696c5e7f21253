// The default policy, put in place at every start as kube-apiserver's rbac/bootstrap-roles hook does:
// a missing role or binding is created; an existing one whose annotation
// rbac.authorization.kubernetes.io/autoupdate is not "false" gets what it lacks (rules, aggregation
// selectors, subjects, labels and annotations) and keeps what was added to it; a binding whose roleRef
// changed is made again. Retired Skiff defaults are deleted.
import type { ClusterRole, ClusterRoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import type { Registry } from '../../../api/registry/registry.js';
import type { ResourceDef } from '../../../api/registry/types.js';
import type { ObjectStore } from '../../../api/storage/object-store.js';
import { ApiError } from '../../../k8s/errors.js';
import type { KObject, StoredObject } from '../../../k8s/object.js';
import { log } from '../../../log.js';
import { controllerNamespaceRoleBindings, controllerNamespaceRoles, controllerRoleBindings, controllerRoles } from './controller-policy.js';
import { covers } from './covers.js';
import {
  AUTO_UPDATE,
  defaultClusterRoleBindings,
  defaultClusterRoles,
  RETIRED,
  type DefaultClusterRole,
  type DefaultClusterRoleBinding,
  type DefaultRole,
  type DefaultRoleBinding,
} from './policy.js';
import type { Rule } from './rules.js';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Adds to `into` the keys of `from` it lacks; true if it changed. */
function addMissing(into: Record<string, string>, from: Record<string, string> | undefined): boolean {
  let changed = false;
  for (const [k, v] of Object.entries(from ?? {}))
    if (!(k in into)) {
      into[k] = v;
      changed = true;
    }
  return changed;
}

/** What an existing default role becomes, or undefined when it needs nothing. */
export function reconcileRole(existing: ClusterRole, expected: DefaultClusterRole): ClusterRole | undefined {
  if (existing.metadata?.annotations?.[AUTO_UPDATE] === 'false') return undefined;
  const next = structuredClone(existing) as DefaultClusterRole;
  const meta = next.metadata!;
  let changed = addMissing((meta.labels ??= {}), expected.metadata?.labels);
  changed = addMissing((meta.annotations ??= {}), expected.metadata?.annotations) || changed;
  const wanted = expected.aggregationRule?.clusterRoleSelectors ?? [];
  if (wanted.length) {
    const have = (next.aggregationRule ??= {}).clusterRoleSelectors ?? [];
    const lacking = wanted.filter((s) => !have.some((h) => same(h, s)));
    if (lacking.length) {
      next.aggregationRule.clusterRoleSelectors = [...have, ...lacking];
      changed = true;
    }
  }
  const { missing } = covers((existing.rules ?? []) as Rule[], (expected.rules ?? []) as Rule[]);
  if (missing.length) {
    next.rules = [...(next.rules ?? []), ...missing];
    changed = true;
  }
  return changed ? next : undefined;
}

const sameSubject = (a: Subject, b: Subject) => a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '');

/** What an existing default binding becomes (`recreate` when its roleRef changed), or undefined. */
export function reconcileBinding(
  existing: ClusterRoleBinding,
  expected: DefaultClusterRoleBinding,
): { binding: ClusterRoleBinding; recreate: boolean } | undefined {
  if (existing.metadata?.annotations?.[AUTO_UPDATE] === 'false') return undefined;
  const next = structuredClone(existing) as DefaultClusterRoleBinding;
  const meta = next.metadata!;
  let changed = addMissing((meta.labels ??= {}), expected.metadata?.labels);
  changed = addMissing((meta.annotations ??= {}), expected.metadata?.annotations) || changed;
  const recreate = !same(existing.roleRef, expected.roleRef);
  if (recreate) next.roleRef = expected.roleRef;
  const have = next.subjects ?? [];
  const lacking = (expected.subjects ?? []).filter((s) => !have.some((h) => sameSubject(h, s)));
  if (lacking.length) {
    next.subjects = [...have, ...lacking];
    changed = true;
  }
  return changed || recreate ? { binding: next, recreate } : undefined;
}

async function createIfMissing(objects: ObjectStore, def: ResourceDef, obj: KObject): Promise<StoredObject | undefined> {
  try {
    return await objects.create(def, obj.metadata?.namespace, obj);
  } catch (err) {
    if (err instanceof ApiError && err.reason === 'AlreadyExists') return undefined;
    throw err;
  }
}

type AnyRole = DefaultClusterRole | DefaultRole;
type AnyBinding = DefaultClusterRoleBinding | DefaultRoleBinding;

async function ensureRole(objects: ObjectStore, def: ResourceDef, expected: AnyRole): Promise<void> {
  const { name, namespace } = expected.metadata as { name: string; namespace?: string };
  const existing = await objects.tryGet(def, namespace, name);
  if (!existing) {
    await createIfMissing(objects, def, expected as unknown as KObject);
    return;
  }
  const next = reconcileRole(existing as unknown as ClusterRole, expected as DefaultClusterRole);
  if (!next) return;
  log.info({ kind: def.kind, namespace, name }, 'default role reconciled');
  await objects.update(def, namespace, name, next as unknown as KObject);
}

async function ensureBinding(objects: ObjectStore, def: ResourceDef, expected: AnyBinding): Promise<void> {
  const { name, namespace } = expected.metadata as { name: string; namespace?: string };
  const existing = await objects.tryGet(def, namespace, name);
  if (!existing) {
    await createIfMissing(objects, def, expected as unknown as KObject);
    return;
  }
  const result = reconcileBinding(existing as unknown as ClusterRoleBinding, expected as DefaultClusterRoleBinding);
  if (!result) return;
  log.info({ kind: def.kind, namespace, name, recreate: result.recreate }, 'default binding reconciled');
  if (!result.recreate) {
    await objects.update(def, namespace, name, result.binding as unknown as KObject);
    return;
  }
  // roleRef cannot change: the binding is made again.
  await objects.remove(def, existing);
  const { metadata, ...rest } = result.binding;
  await createIfMissing(objects, def, {
    ...rest,
    metadata: { name, namespace, labels: metadata?.labels, annotations: metadata?.annotations },
  });
}

/** Roles of optional components: made while the component is on (`add`), deleted while it is off (`remove`). */
export interface OptionalPolicy {
  add?: DefaultClusterRole[];
  remove?: string[];
}

export async function reconcileDefaultPolicy(objects: ObjectStore, registry: Registry, optional: OptionalPolicy = {}): Promise<void> {
  const def = (plural: string) => registry.byResource('rbac.authorization.k8s.io', 'v1', plural)!;
  const [clusterRoles, clusterRoleBindings, roles, roleBindings] = ['clusterroles', 'clusterrolebindings', 'roles', 'rolebindings'].map(
    def,
  );
  for (const r of [...defaultClusterRoles(), ...controllerRoles(), ...(optional.add ?? [])]) await ensureRole(objects, clusterRoles!, r);
  for (const b of [...defaultClusterRoleBindings(), ...controllerRoleBindings()]) await ensureBinding(objects, clusterRoleBindings!, b);
  for (const r of controllerNamespaceRoles()) await ensureRole(objects, roles!, r);
  for (const b of controllerNamespaceRoleBindings()) await ensureBinding(objects, roleBindings!, b);
  for (const name of [...RETIRED, ...(optional.remove ?? [])])
    for (const d of [clusterRoleBindings!, clusterRoles!]) {
      const existing = await objects.tryGet(d, undefined, name);
      if (existing) await objects.remove(d, existing);
    }
}
