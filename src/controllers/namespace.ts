// Namespace lifecycle: a namespace being deleted is emptied of every namespaced object (each kind
// the server serves, custom ones included), then released through namespaces/finalize. While the
// discovery of some group fails, the namespace is not released (its objects of that group may still
// exist): the NamespaceDeletionDiscoveryFailure condition and a Warning event say so, and it is
// tried again with backoff, as upstream's namespace controller does.
import { deletableResources, discoveryFailure, type Discovery } from '../client/discovery.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { ignoreNotFoundOrReplaced, isNotFound } from '../k8s/errors.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ApiClient } from '../client/rest-client.js';
import { namespaces, type KubeObject, type ResourceType, type Writable } from '../client/resources.js';
import { QueueController, type ControllerContext } from './runner.js';

type Namespace = Writable<import('kubernetes-types/core/v1.js').Namespace>;

const FINALIZER = 'kubernetes';
const RECHECK_MS = 1000;
export const DISCOVERY_FAILURE = 'NamespaceDeletionDiscoveryFailure';

export class NamespaceController extends QueueController {
  readonly name = 'namespace';
  private readonly api: ApiClient;
  private readonly namespaces: Informer<Namespace>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    super();
    this.recorder = ctx.recorder('namespace-controller');
    this.api = ctx.client('namespace-controller');
    const enqueue = (ns: Namespace) => {
      if (ns.metadata?.deletionTimestamp) this.queue.add(keyOf(ns));
    };
    this.namespaces = ctx.informers.for(namespaces).on({ add: enqueue, update: (_o, ns) => enqueue(ns) });
  }

  protected async reconcile(name: string): Promise<void> {
    const ns = this.namespaces.get(name);
    if (!ns?.metadata?.deletionTimestamp || !ns.spec?.finalizers?.includes(FINALIZER)) return;
    const { resources, failed } = await deletableResources(this.api);
    await this.reportDiscovery(ns, failed);
    let remaining = 0;
    for (const type of resources.filter((t) => t.namespaced)) remaining += await this.deleteAll(type, name);
    // What can be deleted is; the namespace stays until every group could be looked at.
    if (failed.length) throw new Error(`namespace ${name} is not finalized: ${discoveryFailure(failed)}`);
    if (remaining > 0) {
      // Pods on nodes take their grace period and finalizers take their time: look again shortly.
      this.queue.addAfter(name, RECHECK_MS);
      return;
    }
    const spec = { ...ns.spec, finalizers: ns.spec.finalizers.filter((f) => f !== FINALIZER) };
    try {
      await this.api
        .resource(namespaces)
        .subresource('PUT', undefined, name, 'finalize', { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Sets the discovery condition as upstream words it, when it changes; a failure is also an event. */
  private async reportDiscovery(ns: Namespace, failed: Discovery['failed']): Promise<void> {
    const wanted = failed.length
      ? {
          status: 'True',
          reason: 'DiscoveryFailed',
          message: `Discovery failed for some groups, ${failed.length} failing: ${discoveryFailure(failed)}`,
        }
      : { status: 'False', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' };
    const have = ns.status?.conditions?.find((c) => c.type === DISCOVERY_FAILURE);
    if (!have && !failed.length) return;
    if (have && have.status === wanted.status && have.reason === wanted.reason && have.message === wanted.message) return;
    if (failed.length) this.recorder.event(ns, 'Warning', DISCOVERY_FAILURE, wanted.message);
    const client = this.api.resource(namespaces);
    const latest = await client.get(undefined, ns.metadata!.name!);
    const others = (latest.status?.conditions ?? []).filter((c) => c.type !== DISCOVERY_FAILURE);
    const condition = { type: DISCOVERY_FAILURE, ...wanted, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
    await client.updateStatus({ ...latest, status: { ...latest.status, conditions: [...others, condition] } });
  }

  /** Deletes what is left of one kind in the namespace; answers how many objects are still there. */
  private async deleteAll(type: ResourceType<KubeObject>, namespace: string): Promise<number> {
    const client = this.api.resource(type);
    const { items } = await client.list(namespace);
    for (const obj of items) {
      if (obj.metadata?.deletionTimestamp) continue;
      await client
        .delete(namespace, obj.metadata!.name!, { propagationPolicy: 'Background', preconditions: { uid: obj.metadata!.uid } })
        .catch(ignoreNotFoundOrReplaced);
    }
    return items.length;
  }
}
