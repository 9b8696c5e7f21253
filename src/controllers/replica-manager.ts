// What ReplicaSets and ReplicationControllers share, as upstream's ReplicaSet controller serves
// both: keep spec.replicas pods matching the selector alive, adopting matching orphans and
// releasing owned pods that stopped matching, creating missing pods in doubling batches and
// removing the least useful extras first; report replicas, ready and available counts in status.
// The kinds differ only in their selector (a LabelSelector or a plain label map): see `ReplicatedKind`.
import type { Pod as PodV1, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { matches, type Selector } from '../k8s/selectors.js';
import { ownerRefTo } from '../k8s/owners.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import { isNotFound } from '../k8s/errors.js';
import { pods, type KubeObject, type ResourceType, type Writable, withType } from '../client/resources.js';
import type { ResourceClient } from '../client/rest-client.js';
import { Expectations } from './expectations.js';
import { deletionOrder, isActive, isAvailable, isReady, msUntilAvailable, podFromTemplate } from './pods.js';
import { controlledBy, indexByController, orphansIn, ownerHandlers, QueueController, type ControllerContext } from './runner.js';

type Pod = Writable<PodV1>;

/** The fields both kinds have, by the same names. */
export interface Replicated {
  apiVersion?: string;
  kind?: string;
  metadata?: Writable<ObjectMeta>;
  spec?: { replicas?: number; minReadySeconds?: number; template?: Writable<PodTemplateSpec> };
  status?: { conditions?: unknown[] } & Record<string, unknown>;
}

/** One kind the manager serves. */
export interface ReplicatedKind<T extends Replicated> {
  type: ResourceType<T>;
  /** The controller's name in the manager (`--controllers`), as upstream: replicaset, replicationcontroller. */
  name: string;
  /** Who the events and requests come from: replicaset-controller, replication-controller. */
  component: string;
  /** The pods it selects; undefined or empty selects none (validation forbids it anyway). */
  selector(obj: T): Selector | undefined;
}

const BURST = 500;

export class ReplicaManager<T extends Replicated> extends QueueController {
  readonly name: string;
  private readonly owners: Informer<T>;
  private readonly pods: Informer<Pod>;
  private readonly ownerClient: ResourceClient<T>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly expectations = new Expectations();
  private readonly apiVersion: string;

  constructor(
    ctx: ControllerContext,
    private readonly kind: ReplicatedKind<T>,
  ) {
    super();
    this.name = kind.name;
    this.workers = 4;
    this.apiVersion = kind.type.group ? `${kind.type.group}/${kind.type.version}` : kind.type.version;
    const api = ctx.client(kind.component);
    this.ownerClient = api.resource(kind.type);
    this.podClient = api.resource(pods);
    this.recorder = ctx.recorder(kind.component);
    this.owners = ctx.informers.for(kind.type).on({
      add: (o) => this.queue.add(keyOf(o)),
      update: (_old, o) => this.queue.add(keyOf(o)),
      delete: (o) => {
        this.expectations.forget(keyOf(o));
        this.queue.add(keyOf(o));
      },
    });
    this.pods = indexByController(ctx.informers.for(pods)).on(
      ownerHandlers(kind.type.kind, this.queue, { expectations: this.expectations, orphan: (pod) => this.enqueueMatching(pod) }),
    );
  }

  private enqueueMatching(pod: Pod): void {
    for (const owner of this.owners.list(pod.metadata?.namespace)) {
      const sel = this.kind.selector(owner);
      if (sel?.length && matches(sel, pod.metadata?.labels)) this.queue.add(keyOf(owner));
    }
  }

  protected async reconcile(key: string): Promise<void> {
    const owner = this.owners.get(key);
    if (!owner) return;
    const [namespace] = splitKey(key);
    const selector = this.kind.selector(owner);
    if (!selector?.length) return;
    const owned = await this.claim(owner, namespace!, selector);
    const active = owned.filter(isActive);
    if (!owner.metadata?.deletionTimestamp && this.expectations.satisfied(key)) await this.scale(key, owner, active);
    await this.updateStatus(key, owner, owned, active);
  }

  /** The pods it controls after adopting matching orphans and releasing those that no longer match. */
  private async claim(owner: T, namespace: string, selector: Selector): Promise<Pod[]> {
    const owned: Pod[] = [];
    for (const pod of controlledBy(this.pods, owner)) {
      if (matches(selector, pod.metadata?.labels) || pod.metadata?.deletionTimestamp) owned.push(pod);
      else await this.release(owner, pod);
    }
    if (owner.metadata?.deletionTimestamp) return owned;
    for (const pod of orphansIn(this.pods, namespace)) {
      if (!pod.metadata?.deletionTimestamp && matches(selector, pod.metadata?.labels)) owned.push(await this.adopt(owner, pod));
    }
    return owned;
  }

  private ref(owner: T) {
    return ownerRefTo(owner, this.apiVersion, this.kind.type.kind);
  }

  private async adopt(owner: T, pod: Pod): Promise<Pod> {
    const refs = [...(pod.metadata?.ownerReferences ?? []), this.ref(owner)];
    return this.podClient.patch(
      pod.metadata!.namespace,
      pod.metadata!.name!,
      { metadata: { ownerReferences: refs, uid: pod.metadata!.uid } },
      'strategic',
    );
  }

  /** Drops its reference from a pod whose labels left the selector (the uid guards against a new pod of the same name). */
  private async release(owner: T, pod: Pod): Promise<void> {
    const refs = (pod.metadata?.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata?.uid);
    try {
      await this.podClient.patch(
        pod.metadata!.namespace,
        pod.metadata!.name!,
        { metadata: { ownerReferences: refs.length ? refs : null, uid: pod.metadata!.uid } },
        'merge',
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async scale(key: string, owner: T, active: Pod[]): Promise<void> {
    const want = owner.spec?.replicas ?? 1;
    const diff = active.length - want;
    const typed = withType(this.kind.type, owner) as unknown as KubeObject;
    if (diff < 0) {
      const count = Math.min(-diff, BURST);
      this.expectations.expect(key, count, 0);
      const ref = this.ref(owner);
      let created = 0;
      // Doubling batches: a template that cannot be created fails once, not hundreds of times.
      for (let batch = 1; created < count; batch = Math.min(batch * 2, count - created)) {
        const size = Math.min(batch, count - created);
        const results = await Promise.allSettled(
          Array.from({ length: size }, () =>
            this.podClient.create(podFromTemplate(owner.spec!.template!, owner.metadata!.namespace!, `${owner.metadata!.name}-`, ref)),
          ),
        );
        const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
        created += size - failed.length;
        for (const r of results)
          if (r.status === 'fulfilled') this.recorder.event(typed, 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata!.name}`);
        if (failed.length) {
          for (let i = 0; i < count - created; i++) this.expectations.creationObserved(key);
          const message = (failed[0]!.reason as Error).message;
          this.recorder.event(typed, 'Warning', 'FailedCreate', `Error creating: ${message}`);
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
            this.recorder.event(typed, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata!.name}`);
          } catch (err) {
            this.expectations.deletionObserved(key);
            if (!isNotFound(err)) throw err;
          }
        }),
      );
    }
  }

  private async updateStatus(key: string, owner: T, owned: Pod[], active: Pod[]): Promise<void> {
    const minReady = owner.spec?.minReadySeconds ?? 0;
    const status = replicaStatus(owner, active);
    const current: Record<string, unknown> = owner.status ?? {};
    const same = (Object.keys(status) as (keyof typeof status)[]).every(
      (k) => JSON.stringify(current[k] ?? 0) === JSON.stringify(status[k] ?? 0),
    );
    if (!same) {
      try {
        await this.ownerClient.updateStatus({ ...owner, status } as T);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    // A ready pod becomes available later: look again then.
    const waits = owned.map((p) => msUntilAvailable(p, minReady)).filter((ms): ms is number => ms !== undefined);
    if (waits.length) this.queue.addAfter(key, Math.min(...waits) + 50);
  }
}

/** The status both kinds report from their active pods. */
export function replicaStatus(owner: Replicated, active: Pod[], now = Date.now()) {
  const minReady = owner.spec?.minReadySeconds ?? 0;
  const templateLabels = owner.spec?.template?.metadata?.labels ?? {};
  return {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata?.labels?.[k] === v)).length,
    readyReplicas: active.filter(isReady).length,
    availableReplicas: active.filter((p) => isAvailable(p, minReady, now)).length,
    observedGeneration: owner.metadata?.generation ?? 0,
    ...(owner.status?.conditions?.length ? { conditions: owner.status.conditions } : {}),
  };
}
