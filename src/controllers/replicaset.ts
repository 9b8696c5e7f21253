// ReplicaSet: keeps spec.replicas pods matching the selector alive, adopting matching orphans,
// creating missing pods in doubling batches and removing the least useful extras first; reports
// replicas, ready and available counts in status.
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { fromLabelSelector, matches } from '../api/selectors.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import { isNotFound } from '../client/errors.js';
import { pods, replicaSets, type Writable, withType } from '../client/resources.js';
import type { ResourceClient } from '../client/rest-client.js';
import { Expectations } from './expectations.js';
import { ownerRefTo } from '../api/owners.js';
import { deletionOrder, isActive, isAvailable, isReady, msUntilAvailable, podFromTemplate } from './pods.js';
import { controlledBy, indexByController, orphansIn, ownerHandlers, QueueController, type ControllerContext } from './runner.js';

type RS = Writable<ReplicaSet>;
type Pod = Writable<import('kubernetes-types/core/v1.js').Pod>;

const BURST = 500;

export class ReplicaSetController extends QueueController {
  readonly name = 'replicaset';
  private readonly sets: Informer<RS>;
  private readonly pods: Informer<Pod>;
  private readonly rsClient: ResourceClient<RS>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly expectations = new Expectations();

  constructor(ctx: ControllerContext) {
    super();
    this.workers = 4;
    const api = ctx.api.as('replicaset-controller');
    this.rsClient = api.resource(replicaSets);
    this.podClient = api.resource(pods);
    this.recorder = ctx.recorder('replicaset-controller');
    this.sets = ctx.informers.for(replicaSets).on({
      add: (rs) => this.queue.add(keyOf(rs)),
      update: (_old, rs) => this.queue.add(keyOf(rs)),
      delete: (rs) => {
        this.expectations.forget(keyOf(rs));
        this.queue.add(keyOf(rs));
      },
    });
    this.pods = indexByController(ctx.informers.for(pods)).on(ownerHandlers('ReplicaSet', this.queue, { expectations: this.expectations, orphan: (pod) => this.enqueueMatching(pod) }));
  }

  private enqueueMatching(pod: Pod): void {
    for (const rs of this.sets.list(pod.metadata?.namespace)) {
      const sel = fromLabelSelector(rs.spec?.selector);
      if (sel && sel.length && matches(sel, pod.metadata?.labels)) this.queue.add(keyOf(rs));
    }
  }

  protected async reconcile(key: string): Promise<void> {
    const rs = this.sets.get(key);
    if (!rs) return;
    const [namespace] = splitKey(key);
    const selector = fromLabelSelector(rs.spec?.selector);
    if (!selector?.length) return;
    const owned: Pod[] = controlledBy(this.pods, rs);
    for (const pod of orphansIn(this.pods, namespace)) {
      if (!pod.metadata?.deletionTimestamp && !rs.metadata?.deletionTimestamp && matches(selector, pod.metadata?.labels)) owned.push(await this.adopt(rs, pod));
    }
    const active = owned.filter(isActive);
    if (!rs.metadata?.deletionTimestamp && this.expectations.satisfied(key)) await this.scale(key, rs, active);
    await this.updateStatus(key, rs, owned, active);
  }

  private async adopt(rs: RS, pod: Pod): Promise<Pod> {
    const refs = [...(pod.metadata?.ownerReferences ?? []), ownerRefTo(rs, 'apps/v1', 'ReplicaSet')];
    return this.podClient.patch(pod.metadata!.namespace, pod.metadata!.name!, { metadata: { ownerReferences: refs, uid: pod.metadata!.uid } }, 'strategic');
  }

  private async scale(key: string, rs: RS, active: Pod[]): Promise<void> {
    const want = rs.spec?.replicas ?? 1;
    const diff = active.length - want;
    if (diff < 0) {
      const count = Math.min(-diff, BURST);
      this.expectations.expect(key, count, 0);
      const owner = ownerRefTo(rs, 'apps/v1', 'ReplicaSet');
      let created = 0;
      // Doubling batches: a template that cannot be created fails once, not hundreds of times.
      for (let batch = 1; created < count; batch = Math.min(batch * 2, count - created)) {
        const size = Math.min(batch, count - created);
        const results = await Promise.allSettled(Array.from({ length: size }, () => this.podClient.create(podFromTemplate(rs.spec!.template!, rs.metadata!.namespace!, `${rs.metadata!.name}-`, owner))));
        const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
        created += size - failed.length;
        for (const r of results) if (r.status === 'fulfilled') this.recorder.event(withType(replicaSets, rs), 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata!.name}`);
        if (failed.length) {
          for (let i = 0; i < count - created; i++) this.expectations.creationObserved(key);
          const message = (failed[0]!.reason as Error).message;
          this.recorder.event(withType(replicaSets, rs), 'Warning', 'FailedCreate', `Error creating: ${message}`);
          throw new Error(`creating pods for ${key}: ${message}`);
        }
      }
    } else if (diff > 0) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, BURST));
      this.expectations.expect(key, 0, victims.length);
      await Promise.all(
        victims.map(async (pod) => {
          try {
            await this.podClient.delete(pod.metadata!.namespace, pod.metadata!.name!, { preconditions: { uid: pod.metadata!.uid } });
            this.recorder.event(withType(replicaSets, rs), 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata!.name}`);
          } catch (err) {
            this.expectations.deletionObserved(key);
            if (!isNotFound(err)) throw err;
          }
        }),
      );
    }
  }

  private async updateStatus(key: string, rs: RS, owned: Pod[], active: Pod[]): Promise<void> {
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
    const status = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata?.labels?.[k] === v)).length,
      readyReplicas: active.filter(isReady).length,
      availableReplicas: active.filter((p) => isAvailable(p, minReady)).length,
      observedGeneration: rs.metadata?.generation ?? 0,
      ...(rs.status?.conditions?.length ? { conditions: rs.status.conditions } : {}),
    };
    const current: Record<string, unknown> = rs.status ?? {};
    const same = (Object.keys(status) as (keyof typeof status)[]).every((k) => JSON.stringify(current[k] ?? 0) === JSON.stringify(status[k] ?? 0));
    if (!same) {
      try {
        await this.rsClient.updateStatus({ ...rs, status });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    // A ready pod becomes available later: look again then.
    const waits = owned.map((p) => msUntilAvailable(p, minReady)).filter((ms): ms is number => ms !== undefined);
    if (waits.length) this.queue.addAfter(key, Math.min(...waits) + 50);
  }

}
