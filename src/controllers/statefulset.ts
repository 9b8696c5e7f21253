// StatefulSet: pods with stable names (<set>-<ordinal>) and, from volumeClaimTemplates, their own
// PersistentVolumeClaims. OrderedReady creates one ordinal at a time, each once the ones below are
// Running and Ready, and removes from the highest ordinal down; Parallel does all at once.
// RollingUpdate replaces pods at or above the partition from the highest ordinal down; OnDelete
// waits for the user. Each template is recorded as a ControllerRevision.
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import { ownerRefTo } from '../k8s/owners.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { ignoreNotFound, isAlreadyExists } from '../k8s/errors.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { controllerRevisions, persistentVolumeClaims, pods, statefulSets, type Writable, withType } from '../client/resources.js';
import { ensureRevision, type Revision } from './revisions.js';
import { isActive, isAvailable, isReady, podFromTemplate, REVISION_HASH } from './pods.js';
import { controlledBy, indexByController, ownerHandlers, QueueController, type ControllerContext } from './runner.js';

type STS = Writable<StatefulSet>;
type Pod = Writable<import('kubernetes-types/core/v1.js').Pod>;
type PVC = Writable<import('kubernetes-types/core/v1.js').PersistentVolumeClaim>;

const POD_NAME = 'statefulset.kubernetes.io/pod-name';
const POD_INDEX = 'apps.kubernetes.io/pod-index';

const ordinalOf = (set: STS, pod: Pod) => {
  const m = new RegExp(`^${set.metadata!.name}-(\\d+)$`).exec(pod.metadata?.name ?? '');
  return m ? Number(m[1]) : -1;
};
const runningAndReady = (pod: Pod) => pod.status?.phase === 'Running' && isReady(pod) && !pod.metadata?.deletionTimestamp;

export class StatefulSetController extends QueueController {
  readonly name = 'statefulset';
  private readonly sets: Informer<STS>;
  private readonly pods: Informer<Pod>;
  private readonly revisions: Informer<Revision>;
  private readonly setClient: ResourceClient<STS>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly pvcClient: ResourceClient<PVC>;
  private readonly revisionClient: ResourceClient<Revision>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    super();
    const api = ctx.client('statefulset-controller');
    this.setClient = api.resource(statefulSets);
    this.podClient = api.resource(pods);
    this.pvcClient = api.resource(persistentVolumeClaims);
    this.revisionClient = api.resource(controllerRevisions);
    this.recorder = ctx.recorder('statefulset-controller');
    this.sets = ctx.informers.for(statefulSets).on({ add: (s) => this.queue.add(keyOf(s)), update: (_o, s) => this.queue.add(keyOf(s)) });
    this.pods = indexByController(ctx.informers.for(pods)).on(ownerHandlers('StatefulSet', this.queue));
    this.revisions = ctx.informers.for(controllerRevisions);
  }

  protected async reconcile(key: string): Promise<void> {
    const set = this.sets.get(key);
    if (!set || set.metadata?.deletionTimestamp) return;
    const { name: updateRevision } = await ensureRevision(this.revisions, this.revisionClient, set, 'StatefulSet');
    const owned = controlledBy(this.pods, set);
    const start = set.spec?.ordinals?.start ?? 0;
    const replicas = set.spec?.replicas ?? 1;
    const byOrdinal = new Map(owned.map((p) => [ordinalOf(set, p), p]));
    const parallel = set.spec?.podManagementPolicy === 'Parallel';

    // Finished pods are replaced: a stateful pod is meant to keep running.
    for (const pod of owned.filter((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded')) {
      if (!pod.metadata?.deletionTimestamp) await this.deletePod(set, pod);
    }
    let blocked = false;
    for (let ordinal = start; ordinal < start + replicas && !blocked; ordinal++) {
      const pod = byOrdinal.get(ordinal);
      if (!pod) {
        await this.createPod(set, ordinal, updateRevision);
        blocked = !parallel;
      } else if (!parallel && !runningAndReady(pod)) blocked = true;
    }
    // Scale down from the highest ordinal, one at a time unless Parallel.
    const extra = owned
      .filter((p) => {
        const o = ordinalOf(set, p);
        return o < start || o >= start + replicas;
      })
      .sort((a, b) => ordinalOf(set, b) - ordinalOf(set, a));
    if (!blocked) {
      const terminating = extra.some((p) => p.metadata?.deletionTimestamp);
      for (const pod of parallel ? extra : terminating ? [] : extra.slice(0, 1))
        if (!pod.metadata?.deletionTimestamp) await this.deletePod(set, pod);
    }
    // Rolling update: the highest out-of-date ordinal at or above the partition goes when all are ready.
    const inRange = [...byOrdinal].filter(([o]) => o >= start && o < start + replicas).map(([, p]) => p);
    if (
      !blocked &&
      !extra.length &&
      set.spec?.updateStrategy?.type !== 'OnDelete' &&
      inRange.length === replicas &&
      inRange.every(runningAndReady)
    ) {
      const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
      const stale = inRange
        .filter((p) => ordinalOf(set, p) >= start + partition && p.metadata?.labels?.[REVISION_HASH] !== updateRevision)
        .sort((a, b) => ordinalOf(set, b) - ordinalOf(set, a));
      if (stale.length) await this.deletePod(set, stale[0]!);
    }
    await this.updateStatus(set, owned.filter(isActive), updateRevision);
  }

  private async createPod(set: STS, ordinal: number, revision: string): Promise<void> {
    const name = `${set.metadata!.name}-${ordinal}`;
    const pod = podFromTemplate(set.spec!.template!, set.metadata!.namespace!, '', ownerRefTo(set, 'apps/v1', 'StatefulSet'), {
      [POD_NAME]: name,
      [POD_INDEX]: String(ordinal),
      [REVISION_HASH]: revision,
    });
    delete pod.metadata!.generateName;
    pod.metadata!.name = name;
    pod.spec!.hostname = name;
    if (set.spec?.serviceName) pod.spec!.subdomain = set.spec.serviceName;
    for (const template of set.spec?.volumeClaimTemplates ?? []) {
      const claim = `${template.metadata!.name}-${name}`;
      await this.pvcClient
        .create({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: claim, namespace: set.metadata!.namespace, labels: { ...set.spec?.selector?.matchLabels } },
          spec: structuredClone(template.spec),
        })
        .then(() =>
          this.recorder.event(
            withType(statefulSets, set),
            'Normal',
            'SuccessfulCreate',
            `create Claim ${claim} Pod ${name} in StatefulSet ${set.metadata!.name} success`,
          ),
        )
        .catch((err) => {
          if (!isAlreadyExists(err)) throw err;
        });
      const volumes = (pod.spec!.volumes ?? []).filter((v) => v.name !== template.metadata!.name);
      pod.spec!.volumes = [...volumes, { name: template.metadata!.name!, persistentVolumeClaim: { claimName: claim } }];
    }
    try {
      await this.podClient.create(pod);
      this.recorder.event(
        withType(statefulSets, set),
        'Normal',
        'SuccessfulCreate',
        `create Pod ${name} in StatefulSet ${set.metadata!.name} successful`,
      );
    } catch (err) {
      if (isAlreadyExists(err)) return;
      this.recorder.event(
        withType(statefulSets, set),
        'Warning',
        'FailedCreate',
        `create Pod ${name} in StatefulSet ${set.metadata!.name} failed error: ${(err as Error).message}`,
      );
      throw err;
    }
  }

  private async deletePod(set: STS, pod: Pod): Promise<void> {
    await this.podClient
      .delete(pod.metadata!.namespace, pod.metadata!.name!, { preconditions: { uid: pod.metadata!.uid } })
      .catch(ignoreNotFound);
    this.recorder.event(
      withType(statefulSets, set),
      'Normal',
      'SuccessfulDelete',
      `delete Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name} successful`,
    );
  }

  private async updateStatus(set: STS, active: Pod[], updateRevision: string): Promise<void> {
    const updated = active.filter((p) => p.metadata?.labels?.[REVISION_HASH] === updateRevision);
    const replicas = set.spec?.replicas ?? 1;
    const complete = updated.length === replicas && active.length === replicas;
    const currentRevision = complete || !set.status?.currentRevision ? updateRevision : set.status.currentRevision;
    const status = {
      observedGeneration: set.metadata?.generation,
      replicas: active.length,
      readyReplicas: active.filter(isReady).length,
      availableReplicas: active.filter((p) => isAvailable(p, set.spec?.minReadySeconds ?? 0)).length,
      currentReplicas: active.filter((p) => p.metadata?.labels?.[REVISION_HASH] === currentRevision).length,
      updatedReplicas: updated.length,
      currentRevision,
      updateRevision,
      collisionCount: set.status?.collisionCount ?? 0,
    };
    const current = set.status as Record<string, unknown> | undefined;
    if (Object.entries(status).some(([k, v]) => (current?.[k] ?? 0) !== (v ?? 0))) {
      await this.setClient.updateStatus({ ...set, status }).catch(ignoreNotFound);
    }
  }
}
