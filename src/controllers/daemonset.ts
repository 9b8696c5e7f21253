// DaemonSet: one pod on every node the pod template may run on (nodeSelector, node affinity,
// taints), none elsewhere. Pods are pinned to their node by node affinity and placed by the
// scheduler; a changed template rolls out by replacing up to maxUnavailable pods at a time.
import type { DaemonSet, RollingUpdateDaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Toleration } from 'kubernetes-types/core/v1.js';
import { ownerRefTo } from '../k8s/owners.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { ignoreNotFound, isNotFound } from '../k8s/errors.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { controllerRevisions, daemonSets, nodes, pods, type Writable, withType } from '../client/resources.js';
import { nodeAffinityMatches, tolerates } from '../k8s/scheduling.js';
import { ensureRevision, type Revision } from './revisions.js';
import { Expectations } from './expectations.js';
import { createPodFor, isActive, isAvailable, isReady, msUntilAvailable, podFromTemplate, REVISION_HASH } from './pods.js';
import { controlledBy, indexByController, ownerHandlers, QueueController, type ControllerContext } from './runner.js';

type DS = Writable<DaemonSet>;
type Pod = Writable<import('kubernetes-types/core/v1.js').Pod>;
type Node = Writable<import('kubernetes-types/core/v1.js').Node>;

/** What every daemon pod tolerates, so that node trouble does not evict it (as Kubernetes adds). */
const DAEMON_TOLERATIONS: Writable<Toleration>[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

function maxUnavailable(ru: Writable<RollingUpdateDaemonSet> | undefined, desired: number): number {
  const v = ru?.maxUnavailable ?? 1;
  const n = typeof v === 'number' ? v : Math.floor((Number(v.replace('%', '')) * desired) / 100);
  return Math.max(1, n);
}

export class DaemonSetController extends QueueController {
  readonly name = 'daemonset';
  private readonly sets: Informer<DS>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly dsClient: ResourceClient<DS>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly expectations = new Expectations();
  private readonly revisions: Informer<Revision>;
  private readonly revisionClient: ResourceClient<Revision>;

  constructor(ctx: ControllerContext) {
    super();
    const api = ctx.client('daemon-set-controller');
    this.revisionClient = api.resource(controllerRevisions);
    this.revisions = ctx.informers.for(controllerRevisions);
    this.dsClient = api.resource(daemonSets);
    this.podClient = api.resource(pods);
    this.recorder = ctx.recorder('daemonset-controller');
    this.sets = ctx.informers.for(daemonSets).on({ add: (d) => this.queue.add(keyOf(d)), update: (_o, d) => this.queue.add(keyOf(d)) });
    this.pods = indexByController(ctx.informers.for(pods)).on(ownerHandlers('DaemonSet', this.queue, { expectations: this.expectations }));
    const all = () => {
      for (const d of this.sets.list()) this.queue.add(keyOf(d));
    };
    this.nodes = ctx.informers.for(nodes).on({
      add: all,
      update: (o, n) =>
        JSON.stringify([o.metadata?.labels, o.spec?.taints]) !== JSON.stringify([n.metadata?.labels, n.spec?.taints]) && all(),
      delete: all,
    });
  }

  /** Whether the daemon pod belongs on this node: its selector, affinity and (untolerated) taints. */
  private eligible(template: Pod, node: Node): boolean {
    if (!nodeAffinityMatches(template, node)) return false;
    return !(node.spec?.taints ?? []).some(
      (t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(template.spec?.tolerations, t),
    );
  }

  protected async reconcile(key: string): Promise<void> {
    const ds = this.sets.get(key);
    if (!ds || ds.metadata?.deletionTimestamp) return;
    const { hash } = await ensureRevision(this.revisions, this.revisionClient, ds, 'DaemonSet');
    const template: Pod = {
      metadata: {},
      spec: {
        ...structuredClone(ds.spec!.template!.spec!),
        tolerations: [...(ds.spec!.template!.spec!.tolerations ?? []), ...DAEMON_TOLERATIONS],
      },
    };
    const owned = controlledBy(this.pods, ds);
    const byNode = new Map<string, Pod[]>();
    for (const pod of owned.filter(isActive)) {
      const node = pod.spec?.nodeName ?? nodeOfAffinity(pod) ?? '';
      byNode.set(node, [...(byNode.get(node) ?? []), pod]);
    }
    const nodeList = this.nodes.list();
    const eligible = nodeList.filter((n) => this.eligible(template, n));
    const eligibleNames = new Set(eligible.map((n) => n.metadata!.name!));
    if (this.expectations.satisfied(key)) {
      const toCreate = eligible.filter((n) => !byNode.has(n.metadata!.name!)).map((n) => n.metadata!.name!);
      const toDelete = [...byNode].flatMap(([node, list]) => (eligibleNames.has(node) ? list.slice(1) : list));
      // Rolling update: old pods go while no more than maxUnavailable daemon pods are down.
      if (ds.spec?.updateStrategy?.type !== 'OnDelete') {
        const unavailable = eligible.filter(
          (n) => !(byNode.get(n.metadata!.name!) ?? []).some((p) => isAvailable(p, ds.spec?.minReadySeconds ?? 0)),
        ).length;
        let budget = maxUnavailable(ds.spec?.updateStrategy?.rollingUpdate, eligible.length) - unavailable;
        for (const node of eligible) {
          const pod = byNode.get(node.metadata!.name!)?.[0];
          if (budget <= 0) break;
          if (pod && pod.metadata?.labels?.[REVISION_HASH] !== hash && !toDelete.includes(pod)) {
            toDelete.push(pod);
            budget--;
          }
        }
      }
      this.expectations.expect(key, toCreate.length, toDelete.length);
      await this.apply(ds, hash, toCreate, toDelete);
    }
    await this.updateStatus(ds, hash, eligibleNames, byNode);
  }

  private async apply(ds: DS, hash: string, toCreate: string[], toDelete: Pod[]): Promise<void> {
    const key = keyOf(ds);
    const owner = ownerRefTo(ds, 'apps/v1', 'DaemonSet');
    await Promise.all([
      ...toCreate.map(async (node) => {
        const pod = podFromTemplate(ds.spec!.template!, ds.metadata!.namespace!, `${ds.metadata!.name}-`, owner, { [REVISION_HASH]: hash });
        pod.spec!.tolerations = [...(pod.spec!.tolerations ?? []), ...DAEMON_TOLERATIONS];
        pod.spec!.affinity = {
          ...pod.spec!.affinity,
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
            },
          },
        };
        await createPodFor(this.podClient, this.recorder, withType(daemonSets, ds), pod, this.expectations, key);
      }),
      ...toDelete.map(async (pod) => {
        try {
          await this.podClient.delete(pod.metadata!.namespace, pod.metadata!.name!, { preconditions: { uid: pod.metadata!.uid } });
          this.recorder.event(withType(daemonSets, ds), 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata!.name}`);
        } catch (err) {
          this.expectations.deletionObserved(key);
          if (!isNotFound(err)) throw err;
        }
      }),
    ]);
  }

  private async updateStatus(ds: DS, hash: string, eligible: Set<string>, byNode: Map<string, Pod[]>): Promise<void> {
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const onEligible = [...byNode].filter(([node]) => eligible.has(node)).map(([, list]) => list[0]!);
    const status = {
      desiredNumberScheduled: eligible.size,
      currentNumberScheduled: onEligible.length,
      numberMisscheduled: [...byNode.keys()].filter((n) => n && !eligible.has(n)).length,
      numberReady: onEligible.filter(isReady).length,
      numberAvailable: onEligible.filter((p) => isAvailable(p, minReady)).length,
      numberUnavailable: eligible.size - onEligible.filter((p) => isAvailable(p, minReady)).length,
      updatedNumberScheduled: onEligible.filter((p) => p.metadata?.labels?.[REVISION_HASH] === hash).length,
      observedGeneration: ds.metadata?.generation,
    };
    const current = ds.status as Record<string, unknown> | undefined;
    if (Object.entries(status).some(([k, v]) => (current?.[k] ?? 0) !== (v ?? 0))) {
      await this.dsClient.updateStatus({ ...ds, status }).catch(ignoreNotFound);
    }
    const waits = onEligible.map((p) => msUntilAvailable(p, minReady)).filter((ms): ms is number => ms !== undefined);
    if (waits.length) this.queue.addAfter(keyOf(ds), Math.min(...waits) + 50);
  }
}

/** The node a not-yet-scheduled daemon pod is pinned to. */
function nodeOfAffinity(pod: Pod): string | undefined {
  return pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchFields?.find(
    (f) => f.key === 'metadata.name',
  )?.values?.[0];
}
