// Keeps the node authorizer's graph current from the datastore: a watch on pods and one on persistent
// volumes, each started again (from a fresh list that replaces what it had) whenever it ends. A
// question the graph answers "no" is asked once more of the datastore itself, so a pod bound a moment
// ago is never refused its Secrets while the watch catches up.
import type { Registry } from '../../api/registry/registry.js';
import type { ResourceDef } from '../../api/registry/types.js';
import type { ObjectStore } from '../../api/storage/object-store.js';
import type { ApiWatchEvent, ObjectWatch } from '../../api/storage/watch.js';
import { log } from '../../log.js';
import { NodeGraph, type VertexType } from './node-graph.js';
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';
import { isSkiffIngress, skiffClasses } from '../../k8s/ingress.js';

const RESTART_MS = 1000;

export class NodeGraphFeed {
  readonly graph = new NodeGraph();
  private readonly watches = new Set<ObjectWatch>();
  private stopped = false;
  private readonly pods: ResourceDef;
  private readonly volumes: ResourceDef;
  private readonly ingresses: ResourceDef;
  private readonly ingressClasses: ResourceDef;

  constructor(
    private readonly objects: ObjectStore,
    registry: Registry,
  ) {
    this.pods = registry.byResource('', 'v1', 'pods')!;
    this.volumes = registry.byResource('', 'v1', 'persistentvolumes')!;
    this.ingresses = registry.byResource('networking.k8s.io', 'v1', 'ingresses')!;
    this.ingressClasses = registry.byResource('networking.k8s.io', 'v1', 'ingressclasses')!;
  }

  /** Resolves once both first lists are in the graph. */
  async start(): Promise<void> {
    const graph = this.graph;
    await Promise.all([
      this.follow(
        this.pods,
        () => graph.clearPods(),
        (e) =>
          e.type === 'DELETED' ? graph.deletePod(`${e.object.metadata?.namespace}/${e.object.metadata?.name}`) : graph.setPod(e.object),
      ),
      this.follow(
        this.volumes,
        () => graph.clearVolumes(),
        (e) => (e.type === 'DELETED' ? graph.deleteVolume(e.object.metadata?.name ?? '') : graph.setVolume(e.object)),
      ),
    ]);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches) w.close();
  }

  /** The graph's answer, or on a "no" the datastore's, from the node's pods as they are now. */
  async hasPath(node: string, type: VertexType, namespace: string, name: string): Promise<boolean> {
    if (this.graph.hasPath(node, type, namespace, name)) return true;
    if (type === 'pod') {
      const pod = await this.objects.tryGet(this.pods, namespace, name);
      return (pod?.spec as { nodeName?: string } | undefined)?.nodeName === node;
    }
    const fresh = new NodeGraph();
    const viaVolumes = type === 'pv' || type === 'secret';
    const listed = await this.objects.list(this.pods, viaVolumes ? undefined : namespace, { fieldSelector: `spec.nodeName=${node}` });
    for (const pod of listed.items) fresh.setPod(pod);
    if (viaVolumes) for (const pv of (await this.objects.list(this.volumes, undefined)).items) fresh.setVolume(pv);
    return fresh.hasPath(node, type, namespace, name);
  }

  /** Whether an Ingress of Skiff's ingress in `namespace` names the Secret for TLS: every node serves those. */
  async ingressTlsSecret(namespace: string, name: string): Promise<boolean> {
    const listed = (await this.objects.list(this.ingresses, namespace)).items as unknown as Ingress[];
    const naming = listed.filter((i) => i.spec?.tls?.some((t) => t.secretName === name));
    if (naming.length === 0) return false;
    const classes = skiffClasses((await this.objects.list(this.ingressClasses, undefined)).items as unknown as IngressClass[]);
    return naming.some((i) => isSkiffIngress(i, classes));
  }

  /** Watches `def` from a fresh list, again whenever the watch ends; resolves after the first list. */
  private follow(def: ResourceDef, reset: () => void, apply: (e: ApiWatchEvent) => void): Promise<void> {
    let ready!: () => void;
    const first = new Promise<void>((resolve) => (ready = resolve));
    void (async () => {
      while (!this.stopped) {
        try {
          const watch = await this.objects.watch(def, undefined, { resourceVersion: '' });
          this.watches.add(watch);
          try {
            let initial = true;
            for await (const batch of watch.events) {
              if (initial) reset();
              initial = false;
              for (const e of batch) apply(e);
              ready();
            }
          } finally {
            this.watches.delete(watch);
            watch.close();
          }
        } catch (err) {
          log.warn({ err: (err as Error).message, resource: def.plural }, 'node authorizer graph: watch failed');
        }
        ready();
        if (!this.stopped) await new Promise((r) => setTimeout(r, RESTART_MS));
      }
    })();
    return first;
  }
}
