// What RBAC decides from: the Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, followed by
// watches on the API server's own datastore (as kube-apiserver's RBAC authorizer reads informers).
// Bindings are indexed by subject, so resolving a user's rules visits only the bindings that name the
// user, one of the user's groups or, for service account users, their service account.
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding, RoleRef, Subject } from 'kubernetes-types/rbac/v1.js';
import type { Store } from '../../../store/index.js';
import type { Registry } from '../../../api/registry/registry.js';
import type { ResourceDef } from '../../../api/registry/types.js';
import { watchObjects, type ApiWatchEvent, type ObjectWatch } from '../../../api/storage/watch.js';
import { log } from '../../../log.js';
import type { UserInfo } from '../../authn.js';
import type { Rule } from './rules.js';

const RESTART_MS = 1000;
const SA_PREFIX = 'system:serviceaccount:';

type Binding = RoleBinding | ClusterRoleBinding;

/** Where a rule came from, in upstream's words: `ClusterRoleBinding "x" of ClusterRole "y" to User "z"`. */
export interface RuleSource {
  binding: Binding;
  subject: Subject;
  toString(): string;
}

/** Called for each rule that applies (or each role that could not be resolved); false stops the walk. */
export type RuleVisitor = (source: RuleSource | undefined, rule: Rule | undefined, err: Error | undefined) => boolean;

/** The subject keys a binding's subject matches: users and service accounts by user name, groups by name. */
function subjectKey(s: Subject, bindingNamespace: string): string | undefined {
  if (s.kind === 'User') return `u:${s.name}`;
  if (s.kind === 'Group') return `g:${s.name}`;
  if (s.kind === 'ServiceAccount') {
    const ns = s.namespace || bindingNamespace;
    return ns ? `u:${SA_PREFIX}${ns}:${s.name}` : undefined;
  }
  return undefined;
}

const userKeys = (user: UserInfo) => [`u:${user.username}`, ...user.groups.map((g) => `g:${g}`)];

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `${s.kind} "${s.name}/${s.namespace || bindingNamespace}"`;
  return `${s.kind} "${s.name}"`;
}

function source(binding: Binding, subject: Subject): RuleSource {
  const ns = binding.metadata?.namespace ?? '';
  return {
    binding,
    subject,
    toString: () => {
      const role = `${binding.roleRef.kind} "${binding.roleRef.name}"`;
      return ns
        ? `RoleBinding "${binding.metadata!.name}/${ns}" of ${role} to ${describeSubject(subject, ns)}`
        : `ClusterRoleBinding "${binding.metadata!.name}" of ${role} to ${describeSubject(subject, '')}`;
    },
  };
}

/** Objects of one kind by key, with bindings also indexed by (namespace, subject key). */
class Index<T extends { metadata?: { name?: string; namespace?: string } }> {
  readonly byKey = new Map<string, T>();
  private readonly bySubject = new Map<string, Set<string>>();

  constructor(private readonly subjects?: (obj: T) => string[]) {}

  static key(namespace: string | undefined, name: string): string {
    return namespace ? `${namespace}/${name}` : name;
  }

  reset(): void {
    this.byKey.clear();
    this.bySubject.clear();
  }

  put(obj: T): void {
    const key = Index.key(obj.metadata?.namespace, obj.metadata!.name!);
    this.remove(key);
    this.byKey.set(key, obj);
    for (const s of this.subjects?.(obj) ?? []) {
      let keys = this.bySubject.get(s);
      if (!keys) this.bySubject.set(s, (keys = new Set()));
      keys.add(key);
    }
  }

  remove(key: string): void {
    const old = this.byKey.get(key);
    if (!old) return;
    this.byKey.delete(key);
    for (const s of this.subjects?.(old) ?? []) {
      const keys = this.bySubject.get(s);
      keys?.delete(key);
      if (keys?.size === 0) this.bySubject.delete(s);
    }
  }

  /** Objects indexed under any of the subject keys, each once. */
  matching(subjectKeys: string[]): T[] {
    const seen = new Set<string>();
    const out: T[] = [];
    for (const s of subjectKeys)
      for (const key of this.bySubject.get(s) ?? [])
        if (!seen.has(key)) {
          seen.add(key);
          out.push(this.byKey.get(key)!);
        }
    return out;
  }
}

const bindingSubjects = (b: Binding) => {
  const ns = b.metadata?.namespace ?? '';
  return (b.subjects ?? []).map((s) => subjectKey(s, ns)).filter((k): k is string => k !== undefined);
};

export class RbacCache {
  readonly roles = new Index<Role>();
  readonly clusterRoles = new Index<ClusterRole>();
  // RoleBindings are indexed by `<namespace>|<subject key>`, ClusterRoleBindings by subject key.
  private readonly roleBindings = new Index<RoleBinding>((b) => bindingSubjects(b).map((k) => `${b.metadata!.namespace}|${k}`));
  private readonly clusterRoleBindings = new Index<ClusterRoleBinding>(bindingSubjects);
  private readonly watches = new Set<ObjectWatch>();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
  ) {}

  /** Follows the four kinds; returns once each one's current objects are in. */
  async start(): Promise<void> {
    const def = (plural: string) => this.registry.byResource('rbac.authorization.k8s.io', 'v1', plural)!;
    await Promise.all([
      this.follow(def('roles'), this.roles),
      this.follow(def('clusterroles'), this.clusterRoles),
      this.follow(def('rolebindings'), this.roleBindings),
      this.follow(def('clusterrolebindings'), this.clusterRoleBindings),
    ]);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches) w.close();
  }

  /** The rules of the role a binding in `bindingNamespace` ('' for a ClusterRoleBinding) refers to. */
  roleReferenceRules(ref: RoleRef, bindingNamespace: string): Rule[] {
    if (ref.kind === 'Role') {
      const role = this.roles.byKey.get(Index.key(bindingNamespace, ref.name));
      if (!role) throw new Error(`role.rbac.authorization.k8s.io "${ref.name}" not found`);
      return (role.rules ?? []) as Rule[];
    }
    if (ref.kind === 'ClusterRole') {
      const role = this.clusterRoles.byKey.get(ref.name);
      if (!role) throw new Error(`clusterrole.rbac.authorization.k8s.io "${ref.name}" not found`);
      return (role.rules ?? []) as Rule[];
    }
    throw new Error(`unsupported role reference kind: "${ref.kind}"`);
  }

  /** Every rule that applies to the user in the namespace (cluster-wide ones first), as upstream's VisitRulesFor. */
  visitRulesFor(user: UserInfo, namespace: string, visit: RuleVisitor): void {
    const keys = userKeys(user);
    const walk = (binding: Binding, ns: string): boolean => {
      const subject = (binding.subjects ?? []).find((s) => {
        const k = subjectKey(s, ns);
        return k !== undefined && keys.includes(k);
      });
      if (!subject) return true;
      let rules: Rule[];
      try {
        rules = this.roleReferenceRules(binding.roleRef, ns);
      } catch (err) {
        return visit(undefined, undefined, err as Error);
      }
      const from = source(binding, subject);
      for (const rule of rules) if (!visit(from, rule, undefined)) return false;
      return true;
    };
    for (const b of this.clusterRoleBindings.matching(keys)) if (!walk(b, '')) return;
    if (!namespace) return;
    for (const b of this.roleBindings.matching(keys.map((k) => `${namespace}|${k}`))) if (!walk(b, namespace)) return;
  }

  /** The user's rules in the namespace, and the roles that could not be resolved. */
  rulesFor(user: UserInfo, namespace: string): { rules: Rule[]; errors: Error[] } {
    const rules: Rule[] = [];
    const errors: Error[] = [];
    this.visitRulesFor(user, namespace, (_s, rule, err) => {
      if (rule) rules.push(rule);
      if (err) errors.push(err);
      return true;
    });
    return { rules, errors };
  }

  /** Watches `def` from its current objects, and again whenever the watch ends (compaction, a slow reader). */
  private follow<T extends { metadata?: { name?: string; namespace?: string } }>(def: ResourceDef, index: Index<T>): Promise<void> {
    let ready!: () => void;
    const initial = new Promise<void>((resolve) => (ready = resolve));
    const apply = (batch: ApiWatchEvent[], first: boolean) => {
      if (first) index.reset();
      for (const e of batch) {
        const obj = e.object as T;
        if (e.type === 'DELETED') index.remove(Index.key(obj.metadata?.namespace, obj.metadata!.name!));
        else if (e.type === 'ADDED' || e.type === 'MODIFIED') index.put(obj);
      }
    };
    void (async () => {
      while (!this.stopped) {
        try {
          const watch = await watchObjects(this.store, def, undefined, { resourceVersion: '' });
          this.watches.add(watch);
          try {
            let first = true;
            for await (const batch of watch.events) {
              apply(batch, first);
              if (first) ready();
              first = false;
            }
          } finally {
            this.watches.delete(watch);
            watch.close();
          }
        } catch (err) {
          log.warn({ err: (err as Error).message, resource: def.plural }, 'RBAC cache: watch failed');
        }
        if (!this.stopped) await new Promise((r) => setTimeout(r, RESTART_MS));
      }
      ready();
    })();
    return initial;
  }
}
