// ClusterRole aggregation, as upstream's clusterrole-aggregation-controller: a ClusterRole with an
// aggregationRule holds the rules of every other ClusterRole its selectors match (each matching
// role in name order, each rule once), kept current as roles come, change and go. This is how
// admin, edit and view gain what `rbac.authorization.k8s.io/aggregate-to-*` roles add.
import { isDeepStrictEqual } from 'node:util';
import type { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { clusterRoles, type Writable } from '../client/resources.js';
import { ignoreNotFound } from '../k8s/errors.js';
import { fromLabelSelector, matches } from '../k8s/selectors.js';
import { QueueController, type ControllerContext } from './runner.js';

type ClusterRole = Writable<import('kubernetes-types/rbac/v1.js').ClusterRole>;
type PolicyRule = NonNullable<ClusterRole['rules']>[number];

/** The rules an aggregated role should hold, given every ClusterRole there is. */
export function aggregatedRules(role: ClusterRole, all: ClusterRole[]): PolicyRule[] {
  const rules: PolicyRule[] = [];
  const byName = [...all].sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  for (const s of role.aggregationRule?.clusterRoleSelectors ?? []) {
    const selector = fromLabelSelector(s);
    for (const other of byName) {
      if (other.metadata!.name === role.metadata!.name || !selector || !matches(selector, other.metadata?.labels)) continue;
      for (const rule of other.rules ?? []) if (!rules.some((r) => isDeepStrictEqual(r, rule))) rules.push(rule);
    }
  }
  return rules;
}

export class ClusterRoleAggregationController extends QueueController {
  readonly name = 'clusterrole-aggregation-controller';
  private readonly roles: Informer<ClusterRole>;
  private readonly client: ResourceClient<ClusterRole>;

  constructor(ctx: ControllerContext) {
    super();
    this.client = ctx.client('clusterrole-aggregation-controller').resource(clusterRoles);
    // Any role may be selected by any aggregated one: each change looks at every aggregated role again.
    const all = () => {
      for (const r of this.roles.list()) if (r.aggregationRule) this.queue.add(r.metadata!.name!);
    };
    this.roles = ctx.informers.for(clusterRoles).on({ add: all, update: all, delete: all });
  }

  protected async reconcile(name: string): Promise<void> {
    const role = this.roles.get(name);
    if (!role?.aggregationRule) return;
    const rules = aggregatedRules(role, this.roles.list());
    if (isDeepStrictEqual(rules, role.rules ?? [])) return;
    await this.client.patch(undefined, name, { rules }).catch(ignoreNotFound);
  }
}
