// Node lifecycle: a node whose Lease in kube-node-lease has not been renewed for the grace period
// (40 s) becomes Ready=Unknown and gets the unreachable taints (not-ready when it reports
// Ready=False); its pods are marked not ready and evicted once their tolerationSeconds have passed
// since the taint was added. Heartbeats are timed by this process's clock when it sees the lease
// change, so node and server clocks need not agree.
import type { Taint } from 'kubernetes-types/core/v1.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { ignoreNotFoundOrReplaced } from '../k8s/errors.js';
import type { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { leases, nodes, pods, type Writable, withType } from '../client/resources.js';
import { sleep } from '../client/sleep.js';
import { log } from '../log.js';
import { tolerates } from '../k8s/scheduling.js';
import type { Controller, ControllerContext } from './runner.js';
import type { ControllerTimings } from './settings.js';
import { nowTimestamp } from '../k8s/time.js';

type Node = Writable<import('kubernetes-types/core/v1.js').Node>;
type Pod = Writable<import('kubernetes-types/core/v1.js').Pod>;
type Lease = Writable<import('kubernetes-types/coordination/v1.js').Lease>;

export const UNREACHABLE = 'node.kubernetes.io/unreachable';
export const NOT_READY = 'node.kubernetes.io/not-ready';
const CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly nodeClient: ResourceClient<Node>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  /** When (by our clock) each node was last seen alive. */
  private readonly heartbeats = new Map<string, number>();

  constructor(
    ctx: ControllerContext,
    private readonly timings: ControllerTimings,
  ) {
    const api = ctx.client('node-controller').as('node-lifecycle-controller');
    this.nodeClient = api.resource(nodes);
    this.podClient = api.resource(pods);
    this.recorder = ctx.recorder('node-controller');
    const beat = (name: string) => this.heartbeats.set(name, Date.now());
    this.nodes = ctx.informers
      .for(nodes)
      .on({ add: (n) => beat(n.metadata!.name!), delete: (n) => this.heartbeats.delete(n.metadata!.name!) });
    ctx.informers.for(leases).on({
      add: (l: Lease) => l.metadata?.namespace === 'kube-node-lease' && beat(l.metadata.name!),
      update: (old: Lease, l: Lease) =>
        l.metadata?.namespace === 'kube-node-lease' && old.spec?.renewTime !== l.spec?.renewTime && beat(l.metadata.name!),
    });
    this.pods = ctx.informers.for(pods);
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      for (const node of this.nodes.list()) {
        await this.monitor(node).catch((err: Error) =>
          log.warn({ node: node.metadata?.name, err: err.message }, 'node lifecycle: check failed'),
        );
      }
      await sleep(this.timings.nodeMonitorPeriodMs, signal);
    }
  }

  private async monitor(node: Node): Promise<void> {
    const name = node.metadata!.name!;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    const silentFor = Date.now() - (this.heartbeats.get(name) ?? Date.now());
    if (silentFor > this.timings.nodeMonitorGracePeriodMs && ready?.status !== 'Unknown') {
      node = await this.markUnknown(node);
      this.recorder.event(
        { ...node, apiVersion: 'v1', kind: 'Node', metadata: { ...node.metadata, namespace: undefined } },
        'Normal',
        'NodeNotReady',
        `Node ${name} status is now: NodeNotReady`,
      );
    }
    node = await this.syncTaints(node);
    await this.evict(node);
  }

  private async markUnknown(node: Node): Promise<Node> {
    const t = nowTimestamp();
    const conditions = (node.status?.conditions ?? []).map((c) =>
      CONDITIONS.includes(c.type)
        ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: t }
        : c,
    );
    const updated = await this.nodeClient.patch(undefined, node.metadata!.name!, { status: { conditions } }, 'strategic', 'status');
    // Its pods cannot be trusted to serve: no longer Ready.
    for (const pod of this.podsOn(node.metadata!.name!)) {
      const podConditions = (pod.status?.conditions ?? []).map((c) =>
        c.type === 'Ready' && c.status === 'True' ? { ...c, status: 'False', lastTransitionTime: t } : c,
      );
      await this.podClient
        .patch(pod.metadata!.namespace, pod.metadata!.name!, { status: { conditions: podConditions } }, 'strategic', 'status')
        .catch(ignoreNotFoundOrReplaced);
    }
    return updated;
  }

  /**
   * Taints matching the Ready condition, as Kubernetes sets them: unreachable for Unknown, not-ready
   * for False, each as NoSchedule (nothing new lands there) and NoExecute (what runs there leaves).
   */
  private async syncTaints(node: Node): Promise<Node> {
    const status = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const wanted = status === 'Unknown' ? UNREACHABLE : status === 'False' ? NOT_READY : undefined;
    const taints = node.spec?.taints ?? [];
    const ours = (t: Writable<Taint>) =>
      (t.key === UNREACHABLE || t.key === NOT_READY) && (t.effect === 'NoExecute' || t.effect === 'NoSchedule');
    const kept = taints.filter((t) => !ours(t) || t.key === wanted);
    const missing = wanted
      ? (['NoSchedule', 'NoExecute'] as const).filter((effect) => !kept.some((t) => t.key === wanted && t.effect === effect))
      : [];
    const next: Writable<Taint>[] = [
      ...kept,
      ...missing.map((effect) => ({ key: wanted!, effect, ...(effect === 'NoExecute' ? { timeAdded: nowTimestamp() } : {}) })),
    ];
    if (next.length === taints.length && next.every((t, i) => t === taints[i])) return node;
    return this.nodeClient.patch(
      undefined,
      node.metadata!.name!,
      { metadata: { resourceVersion: node.metadata!.resourceVersion }, spec: { taints: next.length ? next : null } },
      'merge',
    );
  }

  /** Pods that do not tolerate the node's NoExecute taints go: at once, or after tolerationSeconds. */
  private async evict(node: Node): Promise<void> {
    const taints = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    if (!taints.length) return;
    for (const pod of this.podsOn(node.metadata!.name!)) {
      if (pod.metadata?.deletionTimestamp) continue;
      let deadline = 0;
      for (const taint of taints) {
        const matching = (pod.spec?.tolerations ?? []).filter((t) => tolerates([t], taint));
        if (!matching.length) deadline = Math.max(deadline, Date.now());
        else if (matching.every((t) => t.tolerationSeconds !== undefined && t.tolerationSeconds !== null)) {
          const seconds = Math.min(...matching.map((t) => t.tolerationSeconds!));
          deadline = Math.max(deadline, Date.parse(taint.timeAdded ?? nowTimestamp()) + seconds * 1000);
        } else deadline = Math.max(deadline, Infinity);
      }
      if (deadline > Date.now()) continue;
      await this.podClient
        .delete(pod.metadata!.namespace, pod.metadata!.name!, { preconditions: { uid: pod.metadata!.uid } })
        .catch(ignoreNotFoundOrReplaced);
      this.recorder.event(
        withType(pods, pod),
        'Normal',
        'TaintManagerEviction',
        `Marking for deletion Pod ${pod.metadata!.namespace}/${pod.metadata!.name}`,
      );
    }
  }

  private podsOn(node: string): Pod[] {
    return this.pods.list().filter((p) => p.spec?.nodeName === node);
  }
}
