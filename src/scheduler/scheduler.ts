// The scheduler: takes pending pods addressed to it, filters and scores the nodes, and binds each
// pod through pods/binding. A pod no node can take gets PodScheduled=False and a FailedScheduling
// event in Kubernetes' words, and is tried again when nodes or pods change.
import type { ApiClient, ResourceClient } from '../client/rest-client.js';
import { EventRecorder } from '../client/event-recorder.js';
import { ignoreNotFoundOrReplaced, isNotFound } from '../k8s/errors.js';
import { keyOf } from '../client/informer.js';
import { SharedInformers } from '../client/shared-informers.js';
import { nodes, pods, withType } from '../client/resources.js';
import { log } from '../log.js';
import { cycleState, filterNode } from './filters.js';
import { findPreemption, type Preemption } from './preemption.js';
import { SchedulingQueue } from './queue.js';
import { scoreNodes } from './scores.js';
import { usesClaims, VolumeBinding } from './volume-binding.js';
import type { NodeT, PodT } from './snapshot.js';
import { ClusterSnapshot } from './cluster-snapshot.js';
import { nowTimestamp } from '../k8s/time.js';
import { onAbort } from '../k8s/abort.js';

export const DEFAULT_SCHEDULER = 'default-scheduler';
/** Bindings in flight at once, at most. */
const MAX_BINDINGS = 64;

const wantsUs = (pod: PodT, name: string) =>
  !pod.spec?.nodeName &&
  !pod.metadata?.deletionTimestamp &&
  (pod.spec?.schedulerName ?? DEFAULT_SCHEDULER) === name &&
  pod.status?.phase !== 'Succeeded' &&
  pod.status?.phase !== 'Failed';

export class Scheduler {
  private readonly queue = new SchedulingQueue();
  /** The nodes and what is placed on them, kept by the informers' events. */
  private readonly snapshot = new ClusterSnapshot();
  private readonly bindings = new Set<Promise<void>>();
  private readonly podClient: ResourceClient<PodT>;
  private readonly recorder: EventRecorder;
  private volumes?: VolumeBinding;

  constructor(
    private readonly api: ApiClient,
    private readonly name = DEFAULT_SCHEDULER,
  ) {
    this.podClient = api.as(name).resource(pods);
    this.recorder = new EventRecorder(api, name);
  }

  async run(signal: AbortSignal): Promise<void> {
    const informers = new SharedInformers(this.api);
    const podInformer = informers.for(pods).on({
      add: (pod) => this.podChanged(pod),
      update: (old, pod) => {
        this.podChanged(pod, old);
        // A pod that stopped or left frees room.
        if (
          old.spec?.nodeName &&
          (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') &&
          old.status?.phase !== pod.status?.phase
        )
          this.queue.moveAllToActive();
      },
      delete: (pod) => {
        this.queue.remove(keyOf(pod));
        this.snapshot.deletePod(keyOf(pod));
        if (pod.spec?.nodeName) this.queue.moveAllToActive();
      },
    });
    informers.for(nodes).on({
      add: (node) => {
        this.snapshot.setNode(node);
        this.queue.moveAllToActive();
      },
      update: (old, node) => {
        this.snapshot.setNode(node);
        this.nodeChanged(old, node);
      },
      delete: (node) => this.snapshot.removeNode(node.metadata!.name!),
    });
    this.volumes = new VolumeBinding(informers, this.api.as(this.name), () => this.queue.moveAllToActive());
    informers.start();
    onAbort(signal, () => {
      this.queue.close();
      informers.stop();
    });
    await informers.synced();
    log.info({ scheduler: this.name }, 'scheduler running');
    for (;;) {
      const next = await this.queue.pop();
      if (!next) return;
      const pod = podInformer.get(next[0]);
      if (!pod || !wantsUs(pod, this.name) || this.snapshot.isAssumed(next[0])) continue;
      await this.schedule(next[0], pod);
    }
  }

  private podChanged(pod: PodT, old?: PodT): void {
    const key = keyOf(pod);
    this.snapshot.setPod(pod);
    if (pod.spec?.nodeName) {
      this.queue.remove(key);
    } else if (wantsUs(pod, this.name)) {
      // Our own status writes must not wake a parked pod; a changed spec or labels may.
      const changed =
        !old ||
        JSON.stringify(old.spec) !== JSON.stringify(pod.spec) ||
        JSON.stringify(old.metadata?.labels) !== JSON.stringify(pod.metadata?.labels);
      if (changed) this.queue.add(key, pod);
      else this.queue.refresh(key, pod);
    } else this.queue.remove(key);
  }

  private nodeChanged(old: NodeT, node: NodeT): void {
    const relevant = (n: NodeT) =>
      JSON.stringify([n.metadata?.labels, n.spec, n.status?.allocatable, n.status?.conditions?.map((c) => [c.type, c.status])]);
    if (relevant(old) !== relevant(node)) this.queue.moveAllToActive();
  }

  private async schedule(key: string, pod: PodT): Promise<void> {
    const { infos } = this.snapshot;
    const state = cycleState(pod, infos);
    const feasible = [];
    const reasons = new Map<string, number>();
    const failures = new Map<string, string[]>();
    for (const info of infos.values()) {
      const why = filterNode(state, info) ?? this.volumes?.filter(pod, info.node);
      if (!why) feasible.push(info);
      else {
        failures.set(info.node.metadata!.name!, why);
        for (const r of why) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      }
    }
    if (!feasible.length) {
      const preemption = findPreemption(pod, infos, failures);
      if (preemption) await this.preempt(key, pod, preemption);
      return this.unschedulable(key, pod, infos.size, reasons);
    }
    const scores = scoreNodes(state, feasible);
    const best = Math.max(...scores);
    const top = feasible.filter((_, i) => scores[i] === best);
    const chosenNode = top[Math.floor(Math.random() * top.length)]!.node;
    this.snapshot.assume(pod, chosenNode.metadata!.name!);
    // The next pod is placed while this one is being bound (counted on its node meanwhile), as
    // upstream's binding cycle: bindings in flight together share the datastore's commits. A pod
    // with claims is bound first, since the next pod may share them.
    const binding = this.bind(key, pod, chosenNode).finally(() => this.bindings.delete(binding));
    this.bindings.add(binding);
    if (usesClaims(pod)) await binding;
    else if (this.bindings.size >= MAX_BINDINGS) await Promise.race(this.bindings);
  }

  /** Binds a pod placed on a node; a failed binding takes it off the node and tries it again later. */
  private async bind(key: string, pod: PodT, chosenNode: NodeT): Promise<void> {
    const chosen = chosenNode.metadata!.name!;
    try {
      await this.volumes?.bindClaims(pod, chosenNode);
      await this.podClient.subresource('POST', pod.metadata!.namespace, pod.metadata!.name!, 'binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: pod.metadata!.name, namespace: pod.metadata!.namespace, uid: pod.metadata!.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: chosen },
      });
      this.recorder.event(withType(pods, pod), 'Normal', 'Scheduled', `Successfully assigned ${key} to ${chosen}`);
    } catch (err) {
      this.snapshot.forget(key);
      if (isNotFound(err)) return;
      log.warn({ pod: key, node: chosen, err: (err as Error).message }, 'binding failed');
      this.queue.park(key, pod);
      setTimeout(() => this.queue.moveAllToActive(), 1000);
    }
  }

  /** Evicts the victims and nominates the node; the pod is placed once they are gone. */
  private async preempt(key: string, pod: PodT, { node, victims }: Preemption): Promise<void> {
    for (const victim of victims) {
      await this.podClient
        .delete(victim.metadata!.namespace, victim.metadata!.name!, { preconditions: { uid: victim.metadata!.uid } })
        .catch(ignoreNotFoundOrReplaced);
      this.recorder.event(withType(pods, victim), 'Normal', 'Preempted', `Preempted by pod ${pod.metadata!.uid} on node ${node}`);
    }
    await this.podClient
      .patch(pod.metadata!.namespace, pod.metadata!.name!, { status: { nominatedNodeName: node } }, 'merge', 'status')
      .catch((err) => {
        if (!isNotFound(err)) log.warn({ pod: key, err: (err as Error).message }, 'could not nominate a node');
      });
  }

  private async unschedulable(key: string, pod: PodT, nodeCount: number, reasons: Map<string, number>): Promise<void> {
    const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
    const message = nodeCount === 0 ? 'no nodes available to schedule pods' : `0/${nodeCount} nodes are available: ${parts.join(', ')}.`;
    this.queue.park(key, pod);
    const current = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (current?.status === 'False' && current.message === message) return;
    this.recorder.event(withType(pods, pod), 'Warning', 'FailedScheduling', message);
    const condition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastProbeTime: null,
      lastTransitionTime: nowTimestamp(),
    };
    const conditions = [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), condition];
    try {
      await this.podClient.patch(pod.metadata!.namespace, pod.metadata!.name!, { status: { conditions } }, 'merge', 'status');
    } catch (err) {
      if (!isNotFound(err)) log.warn({ pod: key, err: (err as Error).message }, 'could not record the unschedulable condition');
    }
  }
}
