// Namespace lifecycle: a namespace being deleted is emptied of every namespaced object (each kind
// the server serves, custom ones included), then released through namespaces/finalize.
import { deletableResources } from '../client/discovery.js';
import { ignoreNotFoundOrReplaced, isNotFound } from '../k8s/errors.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ApiClient } from '../client/rest-client.js';
import { namespaces, type KubeObject, type ResourceType, type Writable } from '../client/resources.js';
import { QueueController, type ControllerContext } from './runner.js';

type Namespace = Writable<import('kubernetes-types/core/v1.js').Namespace>;

const FINALIZER = 'kubernetes';
const RECHECK_MS = 1000;

export class NamespaceController extends QueueController {
  readonly name = 'namespace';
  private readonly api: ApiClient;
  private readonly namespaces: Informer<Namespace>;

  constructor(ctx: ControllerContext) {
    super();
    this.api = ctx.client('namespace-controller');
    const enqueue = (ns: Namespace) => {
      if (ns.metadata?.deletionTimestamp) this.queue.add(keyOf(ns));
    };
    this.namespaces = ctx.informers.for(namespaces).on({ add: enqueue, update: (_o, ns) => enqueue(ns) });
  }

  protected async reconcile(name: string): Promise<void> {
    const ns = this.namespaces.get(name);
    if (!ns?.metadata?.deletionTimestamp || !ns.spec?.finalizers?.includes(FINALIZER)) return;
    const types = (await deletableResources(this.api)).filter((t) => t.namespaced);
    let remaining = 0;
    for (const type of types) remaining += await this.deleteAll(type, name);
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
