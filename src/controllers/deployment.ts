// Deployment: rolls a pod template out through ReplicaSets. The new template gets a ReplicaSet
// named by its hash; RollingUpdate grows it and shrinks the old ones within maxSurge and
// maxUnavailable, Recreate empties the old ones first. Keeps revisionHistoryLimit old ReplicaSets
// for `kubectl rollout undo`, and reports Progressing/Available conditions for `rollout status`.
import { fromLabelSelector, matches } from '../k8s/selectors.js';
import { isControlledBy, ownerRefTo } from '../k8s/owners.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { ignoreNotFound, isAlreadyExists, isNotFound } from '../k8s/errors.js';
import { keyOf, type Informer } from '../client/informer.js';
import { deployments, replicaSets, withType } from '../client/resources.js';
import type { ResourceClient } from '../client/rest-client.js';
import {
  DESIRED_REPLICAS,
  HASH_LABEL,
  MAX_REPLICAS,
  REVISION,
  REVISION_HISTORY,
  revisionOf,
  sameTemplate,
  setCondition,
  surgeAndUnavailable,
  templateHash,
  type D,
  type RS,
} from './deployment-util.js';
import { controlledBy, indexByController, orphansIn, ownerHandlers, QueueController, type ControllerContext } from './runner.js';

const SKIPPED_ANNOTATIONS = new Set([
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'kubectl.kubernetes.io/last-applied-configuration',
]);

export class DeploymentController extends QueueController {
  readonly name = 'deployment';
  private readonly deployments: Informer<D>;
  private readonly sets: Informer<RS>;
  private readonly dClient: ResourceClient<D>;
  private readonly rsClient: ResourceClient<RS>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    super();
    this.workers = 4;
    const api = ctx.client('deployment-controller');
    this.dClient = api.resource(deployments);
    this.rsClient = api.resource(replicaSets);
    this.recorder = ctx.recorder('deployment-controller');
    this.deployments = ctx.informers
      .for(deployments)
      .on({ add: (d) => this.queue.add(keyOf(d)), update: (_o, d) => this.queue.add(keyOf(d)), delete: (d) => this.queue.add(keyOf(d)) });
    this.sets = indexByController(ctx.informers.for(replicaSets)).on(ownerHandlers('Deployment', this.queue));
  }

  protected async reconcile(key: string): Promise<void> {
    const d = this.deployments.get(key);
    if (!d) return;
    const sets = await this.ownedSets(d);
    if (d.metadata?.deletionTimestamp) return this.syncStatus(d, sets, undefined);
    let newRS = sets.filter((rs) => sameTemplate(rs.spec?.template, d.spec?.template)).sort(byAge)[0];
    const olds = sets.filter((rs) => rs !== newRS);
    // Scaled (also while paused or mid-rollout): every active ReplicaSet grows or shrinks in proportion.
    if (d.spec?.paused || this.isScalingEvent(d, sets)) {
      if (this.isScalingEvent(d, sets)) await this.scaleProportionally(d, newRS, olds);
      return this.syncStatus(
        d,
        sets.map((rs) => this.sets.get(keyOf(rs)) ?? rs),
        newRS,
      );
    }
    const recreate = d.spec?.strategy?.type === 'Recreate';
    if (!newRS || revisionOf(newRS) <= Math.max(0, ...olds.map(revisionOf))) newRS = await this.ensureNewRS(d, newRS, olds, recreate);
    const all = [newRS, ...olds];
    newRS = await this.syncAnnotations(d, newRS);
    // The deployment carries its current revision too; `kubectl rollout undo` patches it.
    if (d.metadata?.annotations?.[REVISION] !== String(revisionOf(newRS))) {
      await this.dClient.patch(d.metadata!.namespace, d.metadata!.name!, {
        metadata: { annotations: { [REVISION]: String(revisionOf(newRS)) } },
      });
    }
    if (recreate) await this.recreate(d, newRS, olds);
    else await this.rollingUpdate(d, newRS, olds);
    await this.cleanup(d, olds);
    return this.syncStatus(
      d,
      all.map((rs) => this.sets.get(keyOf(rs)) ?? rs),
      newRS,
    );
  }

  /** ReplicaSets this deployment controls, adopting orphans its selector matches. */
  private async ownedSets(d: D): Promise<RS[]> {
    const selector = fromLabelSelector(d.spec?.selector);
    const out: RS[] = controlledBy(this.sets, d);
    for (const rs of orphansIn(this.sets, d.metadata?.namespace)) {
      if (selector?.length && !d.metadata?.deletionTimestamp && !rs.metadata?.deletionTimestamp && matches(selector, rs.metadata?.labels)) {
        const refs = [...(rs.metadata?.ownerReferences ?? []), ownerRefTo(d, 'apps/v1', 'Deployment')];
        out.push(
          await this.rsClient.patch(
            rs.metadata!.namespace,
            rs.metadata!.name!,
            { metadata: { ownerReferences: refs, uid: rs.metadata!.uid } },
            'strategic',
          ),
        );
      }
    }
    return out;
  }

  private annotationsFor(d: D, revision: number, rs?: RS): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) if (!SKIPPED_ANNOTATIONS.has(k)) out[k] = v;
    const history = rs?.metadata?.annotations?.[REVISION_HISTORY];
    const previous = rs && revisionOf(rs) ? String(revisionOf(rs)) : undefined;
    const [surge] = surgeAndUnavailable(d);
    const replicas = d.spec?.replicas ?? 1;
    return {
      ...out,
      [REVISION]: String(revision),
      [DESIRED_REPLICAS]: String(replicas),
      [MAX_REPLICAS]: String(replicas + (d.spec?.strategy?.type === 'Recreate' ? 0 : surge)),
      ...(previous ? { [REVISION_HISTORY]: history ? `${history},${previous}` : previous } : {}),
    };
  }

  /** The new ReplicaSet: created for a new template, or an old one brought back by a rollback. */
  private async ensureNewRS(d: D, existing: RS | undefined, olds: RS[], recreate: boolean): Promise<RS> {
    const revision = Math.max(0, ...olds.map(revisionOf)) + 1;
    if (existing) {
      const next = await this.rsClient.patch(existing.metadata!.namespace, existing.metadata!.name!, {
        metadata: { annotations: this.annotationsFor(d, revision, existing) },
      });
      this.recorder.event(
        withType(deployments, d),
        'Normal',
        'DeploymentRollback',
        `Rolled back deployment "${d.metadata!.name}" to revision ${revisionOf(existing)}`,
      );
      return next;
    }
    const collisions = d.status?.collisionCount ?? 0;
    const hash = templateHash(d.spec?.template, collisions);
    const template = structuredClone(d.spec!.template!);
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH_LABEL]: hash } };
    const initial = recreate
      ? olds.some((rs) => (rs.status?.replicas ?? 0) > 0 || (rs.spec?.replicas ?? 0) > 0)
        ? 0
        : (d.spec?.replicas ?? 1)
      : this.newReplicas(d, 0, olds);
    const rs: RS = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata!.name}-${hash}`,
        namespace: d.metadata!.namespace,
        labels: template.metadata.labels,
        annotations: this.annotationsFor(d, revision),
        ownerReferences: [ownerRefTo(d, 'apps/v1', 'Deployment')],
      },
      spec: {
        replicas: initial,
        minReadySeconds: d.spec?.minReadySeconds,
        selector: { ...d.spec!.selector, matchLabels: { ...d.spec!.selector.matchLabels, [HASH_LABEL]: hash } },
        template,
      },
    };
    try {
      const created = await this.rsClient.create(rs);
      this.recorder.event(
        withType(deployments, d),
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${rs.metadata!.name} from 0 to ${initial}`,
      );
      const conditions = setCondition(
        d.status?.conditions ?? [],
        'Progressing',
        'True',
        'NewReplicaSetCreated',
        `Created new replica set "${rs.metadata!.name}"`,
      );
      await this.dClient.patch(d.metadata!.namespace, d.metadata!.name!, { status: { conditions } }, 'merge', 'status');
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const clash = await this.rsClient.get(rs.metadata!.namespace, rs.metadata!.name!);
      if (isControlledBy(clash, d) && sameTemplate(clash.spec?.template, d.spec?.template)) return clash;
      // Same hash, different template: count the collision so the next name differs.
      await this.dClient.patch(d.metadata!.namespace, d.metadata!.name!, { status: { collisionCount: collisions + 1 } }, 'merge', 'status');
      throw new Error(`hash collision for ReplicaSet ${rs.metadata!.name}`);
    }
  }

  /** The deployment's own annotations (change-cause among them) follow onto its new ReplicaSet. */
  private async syncAnnotations(d: D, rs: RS): Promise<RS> {
    const wanted = Object.entries(d.metadata?.annotations ?? {}).filter(([k]) => !SKIPPED_ANNOTATIONS.has(k));
    if (wanted.every(([k, v]) => rs.metadata?.annotations?.[k] === v)) return rs;
    return this.rsClient.patch(rs.metadata!.namespace, rs.metadata!.name!, { metadata: { annotations: Object.fromEntries(wanted) } });
  }

  /** The deployment's replicas changed since its active ReplicaSets were last sized for it. */
  private isScalingEvent(d: D, sets: RS[]): boolean {
    const replicas = String(d.spec?.replicas ?? 1);
    return sets.some((rs) => (rs.spec?.replicas ?? 0) > 0 && rs.metadata?.annotations?.[DESIRED_REPLICAS] !== replicas);
  }

  /**
   * Resizes the active ReplicaSets to the deployment's new size as Kubernetes does: one active set
   * simply takes the new size; several share the change in proportion to their sizes (against the
   * size they were last allowed), within replicas + maxSurge, the rounding rest going to the first.
   */
  private async scaleProportionally(d: D, newRS: RS | undefined, olds: RS[]): Promise<void> {
    const replicas = d.spec?.replicas ?? 1;
    const size = (rs: RS) => rs.spec?.replicas ?? 0;
    const active = [newRS, ...olds].filter((rs): rs is RS => !!rs && size(rs) > 0);
    if (active.length <= 1) {
      const target = active[0] ?? newRS;
      if (target) await this.scaleTo(d, target, replicas);
      return;
    }
    const surge = d.spec?.strategy?.type === 'Recreate' ? 0 : surgeAndUnavailable(d)[0];
    const allowed = replicas > 0 ? replicas + surge : 0;
    const current = active.reduce((n, rs) => n + size(rs), 0);
    const toAdd = allowed - current;
    const ordered = [...active].sort((a, b) => (toAdd > 0 ? size(b) - size(a) || -byAge(a, b) : size(a) - size(b) || byAge(a, b)));
    const sizes = new Map<RS, number>();
    let added = 0;
    for (const rs of ordered) {
      const annotated = Number(rs.metadata?.annotations?.[MAX_REPLICAS]) || current;
      const fraction = replicas === 0 ? -size(rs) : Math.round((size(rs) * allowed) / annotated) - size(rs);
      const proportion = toAdd > 0 ? Math.min(fraction, toAdd - added) : Math.max(fraction, toAdd - added);
      sizes.set(rs, size(rs) + proportion);
      added += proportion;
    }
    sizes.set(ordered[0]!, Math.max(0, sizes.get(ordered[0]!)! + toAdd - added));
    for (const [rs, n] of sizes) await this.scaleTo(d, rs, n);
  }

  /** How big the new ReplicaSet may be now: up to replicas, with all pods within replicas + maxSurge. */
  private newReplicas(d: D, current: number, olds: RS[]): number {
    const replicas = d.spec?.replicas ?? 1;
    const [surge] = surgeAndUnavailable(d);
    const total = current + olds.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0);
    if (current >= replicas) return replicas;
    return Math.min(replicas, current + Math.max(0, replicas + surge - total));
  }

  private async scaleTo(d: D, rs: RS, replicas: number): Promise<RS> {
    const from = rs.spec?.replicas ?? 0;
    if (from === replicas && rs.metadata?.annotations?.[DESIRED_REPLICAS] === String(d.spec?.replicas ?? 1)) return rs;
    const annotations = {
      [DESIRED_REPLICAS]: String(d.spec?.replicas ?? 1),
      [MAX_REPLICAS]: String((d.spec?.replicas ?? 1) + (d.spec?.strategy?.type === 'Recreate' ? 0 : surgeAndUnavailable(d)[0])),
    };
    const next = await this.rsClient.patch(rs.metadata!.namespace, rs.metadata!.name!, { metadata: { annotations }, spec: { replicas } });
    if (from !== replicas)
      this.recorder.event(
        withType(deployments, d),
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata!.name} from ${from} to ${replicas}`,
      );
    return next;
  }

  private async rollingUpdate(d: D, newRS: RS, olds: RS[]): Promise<void> {
    const replicas = d.spec?.replicas ?? 1;
    const [, maxUnavailable] = surgeAndUnavailable(d);
    // Grow the new set within the surge (or shrink it if the deployment was scaled down).
    const target = (newRS.spec?.replicas ?? 0) > replicas ? replicas : this.newReplicas(d, newRS.spec?.replicas ?? 0, olds);
    newRS = await this.scaleTo(d, newRS, target);
    const active = olds.filter((rs) => (rs.spec?.replicas ?? 0) > 0).sort(byAge);
    if (!active.length) return;
    // Shrink old sets while at least replicas - maxUnavailable pods stay available.
    const minAvailable = replicas - maxUnavailable;
    const all = [newRS, ...olds];
    const allPods = all.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0);
    const newUnavailable = (newRS.spec?.replicas ?? 0) - (newRS.status?.availableReplicas ?? 0);
    let budget = allPods - minAvailable - Math.max(0, newUnavailable);
    if (budget <= 0) return;
    // Old pods that are not available anyway go first; they cost no availability.
    for (let i = 0; i < active.length && budget > 0; i++) {
      const rs = active[i]!;
      const unhealthy = Math.min(budget, (rs.spec?.replicas ?? 0) - (rs.status?.availableReplicas ?? 0));
      if (unhealthy <= 0) continue;
      active[i] = await this.scaleTo(d, rs, (rs.spec?.replicas ?? 0) - unhealthy);
      budget -= unhealthy;
    }
    const available = all.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
    let scaleDown = Math.min(budget, available - minAvailable);
    for (const rs of active) {
      if (scaleDown <= 0) break;
      const by = Math.min(scaleDown, rs.spec?.replicas ?? 0);
      if (by <= 0) continue;
      await this.scaleTo(d, rs, (rs.spec?.replicas ?? 0) - by);
      scaleDown -= by;
    }
  }

  private async recreate(d: D, newRS: RS, olds: RS[]): Promise<void> {
    for (const rs of olds) if ((rs.spec?.replicas ?? 0) > 0) await this.scaleTo(d, rs, 0);
    // The new pods start only once every old pod is gone.
    if (olds.some((rs) => (rs.status?.replicas ?? 0) > 0 || (rs.spec?.replicas ?? 0) > 0)) return;
    await this.scaleTo(d, newRS, d.spec?.replicas ?? 1);
  }

  /** Old, empty ReplicaSets beyond revisionHistoryLimit are deleted, oldest revision first. */
  private async cleanup(d: D, olds: RS[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const empty = olds
      .filter((rs) => !rs.metadata?.deletionTimestamp && (rs.spec?.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of empty.slice(0, Math.max(0, empty.length - limit))) {
      await this.rsClient.delete(rs.metadata!.namespace, rs.metadata!.name!, { propagationPolicy: 'Background' }).catch(ignoreNotFound);
    }
  }

  private async syncStatus(d: D, sets: RS[], newRS: RS | undefined): Promise<void> {
    const sum = (f: (rs: RS) => number | undefined) => sets.reduce((n, rs) => n + (f(rs) ?? 0), 0);
    const replicas = d.spec?.replicas ?? 1;
    const [, maxUnavailable] = surgeAndUnavailable(d);
    const status = {
      observedGeneration: d.metadata?.generation,
      replicas: sum((rs) => rs.status?.replicas),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas),
      availableReplicas: sum((rs) => rs.status?.availableReplicas),
      unavailableReplicas: Math.max(0, sum((rs) => rs.spec?.replicas) - sum((rs) => rs.status?.availableReplicas)),
      collisionCount: d.status?.collisionCount,
      conditions: d.status?.conditions ?? [],
    };
    const minAvailable = d.spec?.strategy?.type === 'Recreate' ? replicas : replicas - maxUnavailable;
    status.conditions =
      status.availableReplicas >= minAvailable
        ? setCondition(status.conditions, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
        : setCondition(
            status.conditions,
            'Available',
            'False',
            'MinimumReplicasUnavailable',
            'Deployment does not have minimum availability.',
          );
    const progressing = status.conditions.find((c) => c.type === 'Progressing');
    const deadline = d.spec?.progressDeadlineSeconds ?? 600;
    let recheck: number | undefined;
    if (d.spec?.paused) {
      status.conditions = setCondition(status.conditions, 'Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused');
    } else if (newRS) {
      const name = newRS.metadata!.name;
      const complete =
        status.updatedReplicas === replicas &&
        status.availableReplicas === replicas &&
        status.replicas === replicas &&
        (newRS.status?.observedGeneration ?? 0) >= (newRS.metadata?.generation ?? 0);
      if (complete)
        status.conditions = setCondition(
          status.conditions,
          'Progressing',
          'True',
          'NewReplicaSetAvailable',
          `ReplicaSet "${name}" has successfully progressed.`,
        );
      else if (progressing?.reason === 'ProgressDeadlineExceeded') {
        // Stays failed until something changes the rollout.
      } else {
        const moved =
          JSON.stringify([d.status?.replicas, d.status?.updatedReplicas, d.status?.readyReplicas, d.status?.availableReplicas]) !==
          JSON.stringify([status.replicas, status.updatedReplicas, status.readyReplicas, status.availableReplicas]);
        const reason = progressing?.reason === 'DeploymentPaused' ? 'DeploymentResumed' : 'ReplicaSetUpdated';
        const since = progressing?.lastUpdateTime ? Date.parse(progressing.lastUpdateTime) : Date.now();
        if (
          moved ||
          !progressing ||
          progressing.reason === 'NewReplicaSetAvailable' ||
          progressing.reason === 'DeploymentPaused' ||
          progressing.status !== 'True'
        ) {
          status.conditions = setCondition(
            status.conditions,
            'Progressing',
            'True',
            reason,
            reason === 'DeploymentResumed' ? 'Deployment is resumed' : `ReplicaSet "${name}" is progressing.`,
            moved,
          );
          recheck = deadline * 1000;
        } else if (Date.now() - since > deadline * 1000) {
          status.conditions = setCondition(
            status.conditions,
            'Progressing',
            'False',
            'ProgressDeadlineExceeded',
            `ReplicaSet "${name}" has timed out progressing.`,
          );
          this.recorder.event(
            withType(deployments, d),
            'Warning',
            'ProgressDeadlineExceeded',
            `Deployment "${d.metadata!.name}" has timed out progressing.`,
          );
        } else recheck = since + deadline * 1000 - Date.now();
      }
    }
    if (recheck !== undefined) this.queue.addAfter(keyOf(d), recheck + 100);
    if (JSON.stringify(status) === JSON.stringify({ ...status, ...pick(d.status, status) })) return;
    try {
      await this.dClient.updateStatus({ ...d, status });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

const byAge = (a: RS, b: RS) =>
  (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') ||
  (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');

/** The current values of the keys the new status has, to tell whether anything changed. */
function pick(current: object | undefined, like: object): object {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(like)) out[k] = (current as Record<string, unknown> | undefined)?.[k];
  return out;
}
