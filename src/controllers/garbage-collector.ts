// The garbage collector: follows ownerReferences across every resource the server serves. An
// object whose owners are all gone is deleted (background propagation); an owner deleted with
// Orphan first has its dependents' references to it removed; an owner deleted with Foreground
// waits (foregroundDeletion finalizer) until its blocking dependents are gone. While the discovery of
// a group fails, its objects are not in the graph: no orphan or foreground deletion finishes then
// (a dependent in that group would be lost or left behind), discovery is tried again with backoff,
// and a Warning event on the owner says why it waits.
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { deletableResources, discoveryFailure, type Discovery } from '../client/discovery.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { ignoreNotFoundOrReplaced, isConflict, isNotFound } from '../k8s/errors.js';
import { Informer } from '../client/informer.js';
import type { ApiClient } from '../client/rest-client.js';
import { customResourceDefinitions, type KubeObject, type ResourceType } from '../client/resources.js';
import { log } from '../log.js';
import { QueueController, type ControllerContext } from './runner.js';
import { onAbort } from '../k8s/abort.js';

const ORPHAN = 'orphan';
const FOREGROUND = 'foregroundDeletion';
const REDISCOVER_MS = 30_000;
const RETRY_DISCOVERY_MS = 1000;

interface GraphNode {
  type: ResourceType<KubeObject>;
  namespace?: string;
  name: string;
  owners: OwnerReference[];
  deleting: boolean;
  finalizers: string[];
}

export class GarbageCollector extends QueueController {
  readonly name = 'garbage-collector';
  private readonly api: ApiClient;
  private readonly nodes = new Map<string, GraphNode>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly watched = new Map<string, ResourceType<KubeObject>>();
  /** Group-versions discovered at least once: their kinds are watched. */
  private readonly discoveredGroupVersions = new Set<string>();
  /** Group-versions never discovered because discovery failed: the graph lacks their objects. */
  private missing: Discovery['failed'] = [];
  private readonly recorder: EventRecorder;

  constructor(private readonly ctx: ControllerContext) {
    super();
    this.workers = 4;
    this.recorder = ctx.recorder('garbage-collector-controller');
    this.api = ctx.client('generic-garbage-collector');
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.discover(signal).catch((err: Error) => log.warn({ err: err.message }, 'garbage collector: discovery failed'));
    // New custom resources appear when a CRD is established: look again then (and now and then).
    const request = () => {
      this.discoveryRequested = true;
      this.wakeUp?.();
    };
    this.ctx.informers.for(customResourceDefinitions).on({ add: request, update: request }).start();
    void this.rediscover(signal);
    return super.run(signal);
  }

  private discoveryRequested = false;
  private wakeUp?: () => void;

  private async rediscover(signal: AbortSignal): Promise<void> {
    let retryMs = RETRY_DISCOVERY_MS;
    while (!signal.aborted) {
      // A failed discovery is tried again soon, backing off; a complete one every REDISCOVER_MS.
      const wait = this.missing.length ? retryMs : REDISCOVER_MS;
      retryMs = this.missing.length ? Math.min(retryMs * 2, REDISCOVER_MS) : RETRY_DISCOVERY_MS;
      if (!this.discoveryRequested) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, wait);
          function done() {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          }
          this.wakeUp = done;
          signal.addEventListener('abort', done, { once: true });
        });
        this.wakeUp = undefined;
      }
      this.discoveryRequested = false;
      if (!signal.aborted)
        await this.discover(signal).catch((err: Error) => log.warn({ err: err.message }, 'garbage collector: discovery failed'));
    }
  }

  /**
   * Watches every deletable resource not yet watched (custom resources appear with their CRDs),
   * except events, as Kubernetes' collector does. Kinds no other controller watches get informers
   * of their own that keep only metadata: the graph needs nothing else.
   */
  private async discover(signal: AbortSignal): Promise<void> {
    let found: Discovery;
    try {
      found = await deletableResources(this.api);
    } catch (err) {
      this.missing = [{ groupVersion: '*', error: (err as Error).message }];
      throw err;
    }
    for (const t of found.resources) this.discoveredGroupVersions.add(t.group ? `${t.group}/${t.version}` : t.version);
    const wasMissing = this.missing.length > 0;
    this.missing = found.failed.filter((f) => !this.discoveredGroupVersions.has(f.groupVersion));
    if (this.missing.length) log.warn({ failed: this.missing }, 'garbage collector: discovery failed for some groups, will retry');
    const fresh = found.resources.filter((t) => !this.watched.has(`${t.group}/${t.resource}`) && t.resource !== 'events');
    const informers = fresh.map((type) => {
      this.watched.set(`${type.group}/${type.resource}`, type);
      const informer = this.ctx.informers.has(type)
        ? this.ctx.informers.for(type)
        : new Informer(this.api.resource(type), { transform: metadataOnly });
      onAbort(signal, () => informer.stop());
      return informer
        .on({ add: (o) => this.upsert(type, o), update: (_old, o) => this.upsert(type, o), delete: (o) => this.remove(o) })
        .start();
    });
    await Promise.all(informers.map((i) => i.synced()));
    // Owners that waited for a complete graph may go on now.
    if (wasMissing && !this.missing.length) for (const [uid, node] of this.nodes) if (node.deleting) this.queue.add(uid);
  }

  /** Throws (to retry) while the graph lacks some group: finishing now could lose a dependent. */
  private requireCompleteGraph(node: GraphNode, uid: string, what: string): void {
    if (!this.missing.length) return;
    const message = `waiting to ${what} of ${node.type.kind} ${node.name}: ${discoveryFailure(this.missing)}`;
    const apiVersion = node.type.group ? `${node.type.group}/${node.type.version}` : node.type.version;
    this.recorder.event(
      { apiVersion, kind: node.type.kind, metadata: { name: node.name, namespace: node.namespace, uid } },
      'Warning',
      'DiscoveryFailed',
      message,
    );
    throw new Error(message);
  }

  private upsert(type: ResourceType<KubeObject>, obj: KubeObject): void {
    const uid = obj.metadata!.uid!;
    const old = this.nodes.get(uid);
    for (const ref of old?.owners ?? []) this.dependents.get(ref.uid)?.delete(uid);
    const node: GraphNode = {
      type,
      namespace: obj.metadata?.namespace,
      name: obj.metadata!.name!,
      owners: [...(obj.metadata?.ownerReferences ?? [])],
      deleting: !!obj.metadata?.deletionTimestamp,
      finalizers: [...(obj.metadata?.finalizers ?? [])],
    };
    this.nodes.set(uid, node);
    for (const ref of node.owners) {
      if (!this.dependents.has(ref.uid)) this.dependents.set(ref.uid, new Set());
      this.dependents.get(ref.uid)!.add(uid);
    }
    const hasWork =
      (node.deleting && (node.finalizers.includes(ORPHAN) || node.finalizers.includes(FOREGROUND))) ||
      node.owners.some((r) => !this.nodes.has(r.uid) || this.nodes.get(r.uid)!.deleting);
    if (hasWork) this.queue.add(uid);
  }

  private remove(obj: KubeObject): void {
    const uid = obj.metadata!.uid!;
    const node = this.nodes.get(uid);
    this.nodes.delete(uid);
    // Its dependents may now be orphans; owners waiting for it may now finish.
    for (const dep of this.dependents.get(uid) ?? []) this.queue.add(dep);
    for (const ref of node?.owners ?? []) {
      this.dependents.get(ref.uid)?.delete(uid);
      if (this.nodes.get(ref.uid)?.deleting) this.queue.add(ref.uid);
    }
  }

  protected async reconcile(uid: string): Promise<void> {
    const node = this.nodes.get(uid);
    if (!node) return;
    if (node.deleting && node.finalizers.includes(ORPHAN)) return this.orphanDependents(uid, node);
    if (node.deleting && node.finalizers.includes(FOREGROUND)) return this.deleteDependentsFirst(uid, node);
    if (!node.owners.length || node.deleting) return;
    const absent: string[] = [];
    for (const ref of node.owners) if (!(await this.ownerExists(node, ref))) absent.push(ref.uid);
    if (absent.length === node.owners.length) {
      await this.client(node)
        .delete(node.namespace, node.name, { propagationPolicy: 'Background', preconditions: { uid } })
        .catch(ignoreNotFoundOrReplaced);
    } else if (absent.length) {
      const owners = node.owners.filter((r) => !absent.includes(r.uid));
      await this.client(node)
        .patch(node.namespace, node.name, { metadata: { ownerReferences: owners.length ? owners : null, uid } }, 'merge')
        .catch(ignoreNotFoundOrReplaced);
    } else if (node.owners.every((r) => this.nodes.get(r.uid)?.deleting && this.nodes.get(r.uid)!.finalizers.includes(FOREGROUND))) {
      await this.client(node)
        .delete(node.namespace, node.name, { propagationPolicy: 'Foreground', preconditions: { uid } })
        .catch(ignoreNotFoundOrReplaced);
    }
  }

  /** An owner is there if the graph has it, or (the graph may lag) the API still has it. */
  private async ownerExists(node: GraphNode, ref: OwnerReference): Promise<boolean> {
    if (this.nodes.has(ref.uid)) return true;
    const [group] = ref.apiVersion.includes('/') ? ref.apiVersion.split('/') : [''];
    const type = [...this.watched.values()].find((t) => t.group === group && t.kind === ref.kind);
    if (!type) return true; // a kind we cannot look up: never delete on a guess
    try {
      const owner = await this.api.resource(type).get(type.namespaced ? node.namespace : undefined, ref.name);
      return owner.metadata?.uid === ref.uid;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async orphanDependents(uid: string, node: GraphNode): Promise<void> {
    for (const dep of [...(this.dependents.get(uid) ?? [])]) {
      const d = this.nodes.get(dep);
      if (!d) continue;
      const owners = d.owners.filter((r) => r.uid !== uid);
      await this.client(d)
        .patch(d.namespace, d.name, { metadata: { ownerReferences: owners.length ? owners : null, uid: dep } }, 'merge')
        .catch(ignoreNotFoundOrReplaced);
    }
    this.requireCompleteGraph(node, uid, 'orphan the dependents');
    await this.removeFinalizer(node, uid, ORPHAN);
  }

  private async deleteDependentsFirst(uid: string, node: GraphNode): Promise<void> {
    const deps = [...(this.dependents.get(uid) ?? [])].map((dep) => [dep, this.nodes.get(dep)] as const).filter(([, d]) => d);
    for (const [dep, d] of deps) {
      if (!d!.deleting)
        await this.client(d!)
          .delete(d!.namespace, d!.name, { propagationPolicy: 'Foreground', preconditions: { uid: dep } })
          .catch(ignoreNotFoundOrReplaced);
    }
    const blocking = deps.filter(([, d]) => d!.owners.some((r) => r.uid === uid && r.blockOwnerDeletion));
    if (blocking.length) return;
    this.requireCompleteGraph(node, uid, 'delete the dependents first');
    await this.removeFinalizer(node, uid, FOREGROUND);
  }

  private async removeFinalizer(node: GraphNode, uid: string, finalizer: string): Promise<void> {
    const client = this.client(node);
    try {
      const obj = await client.get(node.namespace, node.name);
      if (obj.metadata?.uid !== uid || !obj.metadata.finalizers?.includes(finalizer)) return;
      obj.metadata.finalizers = obj.metadata.finalizers.filter((f) => f !== finalizer);
      await client.update(obj);
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) throw new Error(`finalizer ${finalizer} of ${node.name}: conflict, retrying`);
      throw err;
    }
  }

  private client(node: GraphNode) {
    return this.api.resource(node.type);
  }
}

function metadataOnly<O>(obj: O): O {
  const { apiVersion, kind, metadata } = obj as KubeObject;
  const { managedFields: _dropped, ...meta } = metadata ?? {};
  return { apiVersion, kind, metadata: meta } as O;
}
