// The scheduler's view of the cluster, kept up to date event by event instead of rebuilt from every
// pod for every decision: each node with the pods placed on it (bound ones as the informer shows
// them, and those we bound that it does not show bound yet, "assumed"). A pod that finished or is
// gone frees its node; a pod whose node is not known (yet) waits for it to appear.
import { keyOf } from '../client/informer.js';
import { addPod, allocatable, holdsResources, type NodeInfo, newNodeInfo, type NodeT, type PodT, removePod } from './snapshot.js';

interface Placement {
  node: string;
  /** The object counted on the node (for an assumed pod, a copy with the node filled in). */
  pod: PodT;
  assumed: boolean;
}

export class ClusterSnapshot {
  /** The nodes that exist, with what is placed on them: what a scheduling decision looks at. */
  readonly infos = new Map<string, NodeInfo>();
  private readonly placements = new Map<string, Placement>();
  /** Pods placed on nodes not known, by node name, until the node appears. */
  private readonly waiting = new Map<string, Set<string>>();

  setNode(node: NodeT): void {
    const name = node.metadata!.name!;
    const info = this.infos.get(name);
    if (info) {
      info.node = node;
      info.allocatable = allocatable(node);
      return;
    }
    const created = newNodeInfo(node);
    this.infos.set(name, created);
    for (const key of this.waiting.get(name) ?? []) addPod(created, this.placements.get(key)!.pod);
    this.waiting.delete(name);
  }

  /** Its pods (not gone yet) wait in case a node of that name comes back. */
  removeNode(name: string): void {
    const info = this.infos.get(name);
    if (!info) return;
    this.infos.delete(name);
    for (const pod of info.pods) this.park(name, keyOf(pod));
  }

  /** A pod as the informer shows it now. */
  setPod(pod: PodT): void {
    const key = keyOf(pod);
    const current = this.placements.get(key);
    if (!holdsResources(pod)) this.deletePod(key);
    else if (pod.spec?.nodeName) this.place(key, { node: pod.spec.nodeName, pod, assumed: false });
    // Bound by us a moment ago: stays counted (as it is now) until the informer catches up or the binding fails.
    else if (current?.assumed) this.assume(pod, current.node);
    else this.deletePod(key);
  }

  deletePod(key: string): void {
    const current = this.placements.get(key);
    if (!current) return;
    this.placements.delete(key);
    const info = this.infos.get(current.node);
    if (info) removePod(info, current.pod);
    else this.unpark(current.node, key);
  }

  /** We are binding the pod to the node: count it there already. */
  assume(pod: PodT, node: string): void {
    this.place(keyOf(pod), { node, pod: { ...pod, spec: { ...pod.spec!, nodeName: node } }, assumed: true });
  }

  /** The binding failed: the pod is no longer counted, unless the informer has shown it bound meanwhile. */
  forget(key: string): void {
    if (this.placements.get(key)?.assumed) this.deletePod(key);
  }

  isAssumed(key: string): boolean {
    return !!this.placements.get(key)?.assumed;
  }

  private place(key: string, placement: Placement): void {
    this.deletePod(key);
    this.placements.set(key, placement);
    const info = this.infos.get(placement.node);
    if (info) addPod(info, placement.pod);
    else this.park(placement.node, key);
  }

  private park(node: string, key: string): void {
    let keys = this.waiting.get(node);
    if (!keys) this.waiting.set(node, (keys = new Set()));
    keys.add(key);
  }

  private unpark(node: string, key: string): void {
    const keys = this.waiting.get(node);
    keys?.delete(key);
    if (keys?.size === 0) this.waiting.delete(node);
  }
}
