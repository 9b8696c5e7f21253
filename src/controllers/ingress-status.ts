// The status of the Ingresses every node's ingress serves: status.loadBalancer.ingress lists the
// addresses of the Ready nodes, their ExternalIPs if any node has one, else their InternalIPs (as
// ServiceLB does for Services), which `kubectl get ingress` shows as ADDRESS. Written by this one
// controller under the manager's lease rather than by each node, so that nodes never fight over it.
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { ingressClasses, ingresses, nodes, type Writable } from '../client/resources.js';
import { isSkiffIngress, skiffClasses } from '../k8s/ingress.js';
import { QueueController, type ControllerContext } from './runner.js';

type NodeT = Writable<Node>;

/** The addresses Skiff's Ingresses are reached at, sorted. */
export function ingressAddresses(all: NodeT[]): string[] {
  const ready = all.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const of = (type: string) => ready.flatMap((n) => (n.status?.addresses ?? []).filter((a) => a.type === type).map((a) => a.address));
  const external = of('ExternalIP');
  return [...new Set(external.length > 0 ? external : of('InternalIP'))].sort();
}

export class IngressStatusController extends QueueController {
  readonly name = 'ingress-status';
  private readonly ingresses: Informer<Writable<Ingress>>;
  private readonly classes: Informer<Writable<IngressClass>>;
  private readonly nodes: Informer<NodeT>;
  private readonly client: ResourceClient<Writable<Ingress>>;

  constructor(ctx: ControllerContext) {
    super();
    this.client = ctx.client('ingress-status-controller').resource(ingresses);
    const all = () => {
      for (const ing of this.ingresses.list()) this.queue.add(keyOf(ing));
    };
    this.ingresses = ctx.informers.for(ingresses).on({ add: (i) => this.queue.add(keyOf(i)), update: (_o, i) => this.queue.add(keyOf(i)) });
    this.classes = ctx.informers.for(ingressClasses).on({ add: all, update: all, delete: all });
    this.nodes = ctx.informers.for(nodes).on({ add: all, update: all, delete: all });
  }

  protected async reconcile(key: string): Promise<void> {
    const ing = this.ingresses.get(key);
    if (!ing || !isSkiffIngress(ing, skiffClasses(this.classes.list()))) return;
    const ips = ingressAddresses(this.nodes.list());
    const current = (ing.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
    if (JSON.stringify(current) === JSON.stringify(ips)) return;
    await this.client.updateStatus({ ...ing, status: { ...ing.status, loadBalancer: { ingress: ips.map((ip) => ({ ip })) } } });
  }
}
