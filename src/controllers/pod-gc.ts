// Pod garbage collection: pods bound to nodes that no longer exist are removed at once (nobody
// will ever stop them), and finished pods beyond the threshold go, oldest first.
import { ignoreNotFoundOrReplaced, isNotFound } from '../k8s/errors.js';
import type { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { nodes, pods, type Writable } from '../client/resources.js';
import { sleep } from '../client/sleep.js';
import { log } from '../log.js';
import type { Controller, ControllerContext } from './runner.js';

type Pod = Writable<import('kubernetes-types/core/v1.js').Pod>;
type Node = Writable<import('kubernetes-types/core/v1.js').Node>;

const SWEEP_MS = 20_000;
/** kube-controller-manager's --terminated-pod-gc-threshold default. */
const TERMINATED_THRESHOLD = 12_500;

export class PodGarbageCollector implements Controller {
  readonly name = 'pod-garbage-collector';
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly nodeClient: ResourceClient<Node>;

  constructor(ctx: ControllerContext) {
    const api = ctx.client('pod-garbage-collector');
    this.podClient = api.resource(pods);
    this.nodeClient = api.resource(nodes);
    this.pods = ctx.informers.for(pods);
    this.nodes = ctx.informers.for(nodes).on({ delete: (n) => void this.sweepNode(n.metadata!.name!) });
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.sweep().catch((err: Error) => log.warn({ err: err.message }, 'pod gc failed'));
      await sleep(SWEEP_MS, signal);
    }
  }

  private async sweep(): Promise<void> {
    const orphanedOn = new Set(
      this.pods
        .list()
        .map((p) => p.spec?.nodeName)
        .filter((n): n is string => !!n && !this.nodes.get(n)),
    );
    for (const node of orphanedOn) await this.sweepNode(node);
    const finished = this.pods.list().filter((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed');
    if (finished.length <= TERMINATED_THRESHOLD) return;
    finished.sort((a, b) => (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? ''));
    for (const pod of finished.slice(0, finished.length - TERMINATED_THRESHOLD)) await this.forceDelete(pod);
  }

  private async sweepNode(node: string): Promise<void> {
    // The informer may lag: only a node the API does not have is gone.
    try {
      await this.nodeClient.get(undefined, node);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    for (const pod of this.pods.list().filter((p) => p.spec?.nodeName === node)) await this.forceDelete(pod);
  }

  private async forceDelete(pod: Pod): Promise<void> {
    await this.podClient
      .delete(pod.metadata!.namespace, pod.metadata!.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } })
      .catch(ignoreNotFoundOrReplaced);
  }
}
