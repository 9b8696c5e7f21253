// ServiceLB, K3s's LoadBalancer without a cloud, but with no DaemonSet pods: a LoadBalancer Service
// gets the addresses of the nodes that serve it in status.loadBalancer.ingress, and every node's
// Service rules accept its ports there. The nodes are K3s's: Ready ones (only those labelled
// svccontroller.k3s.cattle.io/enablelb=true once any node is), less the nodes where an older
// LoadBalancer already holds the same port, and with externalTrafficPolicy Local only the nodes
// with a ready endpoint; their ExternalIPs if any node has one, else their InternalIPs.
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { endpointSlices, nodes, services, type Writable, withType } from '../client/resources.js';
import { QueueController, type ControllerContext } from './runner.js';

type Svc = Writable<Service>;
type NodeT = Writable<Node>;
type Slice = Writable<EndpointSlice>;

export const ENABLE_LB_LABEL = 'svccontroller.k3s.cattle.io/enablelb';
const SERVICE_NAME = 'kubernetes.io/service-name';

const isLoadBalancer = (svc: Svc) => svc.spec?.type === 'LoadBalancer' && !svc.spec.loadBalancerClass;
const isReadyNode = (n: NodeT) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const portKeys = (svc: Svc) => (svc.spec?.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`);
const holds = (svc: Svc) => (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0;
/** Who gets a contended port: the Service holding it already, else the oldest (then by name). */
const before = (a: Svc, b: Svc) =>
  holds(a) !== holds(b) ? holds(a) : `${a.metadata?.creationTimestamp}/${keyOf(a)}` < `${b.metadata?.creationTimestamp}/${keyOf(b)}`;

/** The nodes a LoadBalancer may use, before port conflicts and traffic policy. */
export function eligibleNodes(all: NodeT[]): NodeT[] {
  const ready = all.filter(isReadyNode);
  const labelled = all.some((n) => n.metadata?.labels?.[ENABLE_LB_LABEL] !== undefined);
  return labelled ? ready.filter((n) => n.metadata?.labels?.[ENABLE_LB_LABEL] === 'true') : ready;
}

/**
 * The ingress addresses of `svc`: its nodes' addresses, sorted. `others` are the other LoadBalancer
 * Services; on each node, a port goes to the Service that has it already, or else to the oldest one
 * asking for it, as K3s's host ports do.
 */
export function ingressFor(svc: Svc, others: Svc[], nodeList: NodeT[], slices: Slice[]): string[] {
  const mine = new Set(portKeys(svc));
  const holdsAPort = others.some((o) => before(o, svc) && portKeys(o).some((k) => mine.has(k)));
  // A port held by an older Service is held on every node, since every eligible node serves both.
  if (holdsAPort) return [];
  let serving = eligibleNodes(nodeList);
  if (svc.spec?.externalTrafficPolicy === 'Local') {
    const withEndpoint = new Set<string>();
    for (const slice of slices) {
      for (const e of slice.endpoints ?? [])
        if (e.conditions?.ready && e.nodeName && e.targetRef?.kind === 'Pod') withEndpoint.add(e.nodeName);
    }
    serving = serving.filter((n) => withEndpoint.has(n.metadata!.name!));
  }
  const addresses = (type: string) =>
    serving.flatMap((n) => (n.status?.addresses ?? []).filter((a) => a.type === type).map((a) => a.address));
  const external = addresses('ExternalIP');
  const ips = external.length > 0 ? external : addresses('InternalIP');
  return [...new Set(ips)].sort();
}

export class ServiceLBController extends QueueController {
  readonly name = 'servicelb';
  private readonly services: Informer<Svc>;
  private readonly nodes: Informer<NodeT>;
  private readonly slices: Informer<Slice>;
  private readonly client: ResourceClient<Svc>;
  private readonly recorder: EventRecorder;
  /** Services told they have no nodes, so that a pending one is told once, not at every change. */
  private readonly warned = new Set<string>();

  constructor(ctx: ControllerContext) {
    super();
    this.client = ctx.client('service-lb-controller').resource(services);
    this.recorder = ctx.recorder('service-lb-controller');
    const all = () => {
      for (const svc of this.services.list()) if (isLoadBalancer(svc)) this.queue.add(keyOf(svc));
    };
    // A Service's change can free or take a port another one wants: look at every LoadBalancer.
    this.services = ctx.informers.for(services).on({ add: all, update: all, delete: all });
    this.nodes = ctx.informers.for(nodes).on({ add: all, update: all, delete: all });
    const ofSlice = (s: Slice) => {
      const name = s.metadata?.labels?.[SERVICE_NAME];
      if (name) this.queue.add(`${s.metadata?.namespace}/${name}`);
    };
    this.slices = ctx.informers.for(endpointSlices).on({ add: ofSlice, update: (_o, s) => ofSlice(s), delete: ofSlice });
  }

  protected async reconcile(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const svc = this.services.get(key);
    if (!svc || !isLoadBalancer(svc)) return;
    const others = this.services.list().filter((o) => isLoadBalancer(o) && keyOf(o) !== key);
    const slices = this.slices.list(namespace).filter((s) => s.metadata?.labels?.[SERVICE_NAME] === name);
    const ips = ingressFor(svc, others, this.nodes.list(), slices);
    const current = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
    const ref = withType(services, svc);
    const uid = svc.metadata?.uid ?? key;
    if (ips.length > 0) this.warned.delete(uid);
    else if (!this.warned.has(uid)) {
      this.warned.add(uid);
      this.recorder.event(ref, 'Warning', 'UnAvailableLoadBalancer', 'There are no available nodes for LoadBalancer');
    }
    if (JSON.stringify(current) === JSON.stringify(ips)) return;
    const ingress = ips.map((ip) => ({ ip, ipMode: 'VIP' }));
    await this.client.updateStatus({ ...svc, status: { ...svc.status, loadBalancer: { ingress } } });
    if (ips.length > 0) {
      const change = `[${current.join(' ')}] -> [${ips.join(' ')}]`;
      this.recorder.event(ref, 'Normal', 'UpdatedLoadBalancer', `Updated LoadBalancer with new IPs: ${change}`);
    }
  }
}
