// Endpoints and EndpointSlices for every Service with a selector: the IPs of the pods it selects,
// ready ones as addresses and the others (unless publishNotReadyAddresses) as not ready, with the
// service's ports resolved against each pod's named container ports.
import type { EndpointPort as SlicePort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { EndpointAddress, EndpointPort, Endpoints } from 'kubernetes-types/core/v1.js';
import { fromLabelSelector, matches } from '../k8s/selectors.js';
import { isControlledBy, ownerRefTo } from '../k8s/owners.js';
import { ignoreNotFound, isAlreadyExists } from '../k8s/errors.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { endpointSlices, endpoints, pods, services, type Writable } from '../client/resources.js';
import { isReady } from './pods.js';
import { QueueController, type ControllerContext } from './runner.js';

type Service = Writable<import('kubernetes-types/core/v1.js').Service>;
type Pod = Writable<import('kubernetes-types/core/v1.js').Pod>;
type EP = Writable<Endpoints>;
type Slice = Writable<EndpointSlice>;

const SERVICE_NAME = 'kubernetes.io/service-name';
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const MANAGER = 'endpointslice-controller.k8s.io';

interface Member {
  pod: Pod;
  /** Ready for the Endpoints object and the slice's `ready`: never while terminating, unless publishNotReadyAddresses. */
  ready: boolean;
  /** The pod's own readiness, terminating or not (the slice's `serving`). */
  serving: boolean;
  terminating: boolean;
}

/** The service's ports as this pod serves them; a named targetPort the pod lacks drops that port. */
function portsFor(svc: Service, pod: Pod): Writable<EndpointPort>[] {
  const out: Writable<EndpointPort>[] = [];
  for (const p of svc.spec?.ports ?? []) {
    const target = p.targetPort ?? p.port;
    let port: number | undefined = typeof target === 'number' ? target : undefined;
    if (typeof target === 'string') {
      for (const c of pod.spec?.containers ?? [])
        port ??= c.ports?.find((cp) => cp.name === target && (cp.protocol ?? 'TCP') === (p.protocol ?? 'TCP'))?.containerPort;
    }
    if (port !== undefined)
      out.push({
        ...(p.name ? { name: p.name } : {}),
        port,
        protocol: p.protocol ?? 'TCP',
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      });
  }
  return out;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export class EndpointsController extends QueueController {
  readonly name = 'endpoints';
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<EP>;
  private readonly slices: Informer<Slice>;
  private readonly epClient: ResourceClient<EP>;
  private readonly sliceClient: ResourceClient<Slice>;

  constructor(ctx: ControllerContext) {
    super();
    // Endpoints and EndpointSlices are written as upstream's two controllers write them.
    this.epClient = ctx.client('endpoint-controller').resource(endpoints);
    this.sliceClient = ctx.client('endpointslice-controller').resource(endpointSlices);
    this.services = ctx.informers
      .for(services)
      .on({ add: (s) => this.queue.add(keyOf(s)), update: (_o, s) => this.queue.add(keyOf(s)), delete: (s) => this.queue.add(keyOf(s)) });
    const touched = (pod: Pod) => {
      for (const svc of this.services.list(pod.metadata?.namespace)) {
        const sel = svc.spec?.selector && fromLabelSelector({ matchLabels: svc.spec.selector });
        if (sel?.length && matches(sel, pod.metadata?.labels)) this.queue.add(keyOf(svc));
      }
    };
    this.pods = ctx.informers.for(pods).on({
      add: touched,
      update: (old, pod) => {
        touched(old);
        touched(pod);
      },
      delete: touched,
    });
    this.endpoints = ctx.informers.for(endpoints);
    this.slices = ctx.informers.for(endpointSlices);
  }

  protected async reconcile(key: string): Promise<void> {
    const svc = this.services.get(key);
    const [namespace, name] = splitKey(key);
    if (!svc?.spec?.selector || svc.metadata?.deletionTimestamp) {
      // Endpoints of a deleted service go with it (slices follow their owner through the GC).
      if (!svc && this.endpoints.get(key)) await this.epClient.delete(namespace, name).catch(ignoreNotFound);
      return;
    }
    const sel = fromLabelSelector({ matchLabels: svc.spec.selector })!;
    const publish = !!svc.spec?.publishNotReadyAddresses;
    // Terminating pods stay in the slices (ready false, serving as their readiness, terminating
    // true) so that proxies can fall back on them while nothing else serves, as upstream's
    // EndpointSlice controller; the Endpoints object leaves them out unless publishNotReadyAddresses.
    const members: Member[] = this.pods
      .list(namespace)
      .filter((p) => p.status?.podIP && matches(sel, p.metadata?.labels) && p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed')
      .map((pod) => {
        const serving = isReady(pod);
        const terminating = !!pod.metadata?.deletionTimestamp;
        return { pod, ready: publish || (serving && !terminating), serving, terminating };
      })
      .sort((a, b) => a.pod.status!.podIP!.localeCompare(b.pod.status!.podIP!));
    await this.syncEndpoints(
      svc,
      members.filter((m) => publish || !m.terminating),
    );
    await this.syncSlices(svc, members);
  }

  private address(svc: Service, pod: Pod): Writable<EndpointAddress> {
    const hostname = pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name ? pod.spec.hostname : undefined;
    return {
      ip: pod.status!.podIP!,
      ...(hostname ? { hostname } : {}),
      ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata!.namespace, name: pod.metadata!.name, uid: pod.metadata!.uid },
    };
  }

  /** Pods grouped by the ports they resolve to (usually one group). */
  private groups(svc: Service, members: Member[]): Map<string, { ports: Writable<EndpointPort>[]; members: Member[] }> {
    const out = new Map<string, { ports: Writable<EndpointPort>[]; members: Member[] }>();
    for (const m of members) {
      const ports = portsFor(svc, m.pod);
      const k = JSON.stringify(ports);
      if (!out.has(k)) out.set(k, { ports, members: [] });
      out.get(k)!.members.push(m);
    }
    return out;
  }

  private async syncEndpoints(svc: Service, members: Member[]): Promise<void> {
    const subsets = [...this.groups(svc, members).values()].map(({ ports, members: ms }) => {
      const ready = ms.filter((m) => m.ready).map((m) => this.address(svc, m.pod));
      const notReady = ms.filter((m) => !m.ready).map((m) => this.address(svc, m.pod));
      return {
        ...(ready.length ? { addresses: ready } : {}),
        ...(notReady.length ? { notReadyAddresses: notReady } : {}),
        ...(ports.length ? { ports } : {}),
      };
    });
    const current = this.endpoints.get(keyOf(svc));
    if (current && sameJson(current.subsets ?? [], subsets) && sameJson(current.metadata?.labels, svc.metadata?.labels)) return;
    const body: EP = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: svc.metadata!.name, namespace: svc.metadata!.namespace, labels: svc.metadata?.labels },
      subsets,
    };
    if (current)
      await this.epClient.update({ ...body, metadata: { ...current.metadata, labels: svc.metadata?.labels } }).catch(ignoreNotFound);
    else
      await this.epClient.create(body).catch((err) => {
        if (!isAlreadyExists(err)) throw err;
      });
  }

  private async syncSlices(svc: Service, members: Member[]): Promise<void> {
    const existing = this.slices
      .list(svc.metadata?.namespace)
      .filter((s) => s.metadata?.labels?.[MANAGED_BY] === MANAGER && isControlledBy(s, svc));
    const wanted = [...this.groups(svc, members).values()].map(({ ports, members: ms }) => ({
      // Slices always name their ports, "" when the service port has no name (kubectl relies on it).
      ports: ports.map((p) => ({ ...p, name: p.name ?? '' })) as Writable<SlicePort>[],
      endpoints: ms.map((m) => {
        const a = this.address(svc, m.pod);
        return {
          addresses: [a.ip],
          conditions: { ready: m.ready, serving: m.serving, terminating: m.terminating },
          ...(a.hostname ? { hostname: a.hostname } : {}),
          ...(a.nodeName ? { nodeName: a.nodeName } : {}),
          targetRef: a.targetRef,
        };
      }),
    }));
    if (!wanted.length) wanted.push({ ports: [], endpoints: [] });
    const labels = { ...svc.metadata?.labels, [SERVICE_NAME]: svc.metadata!.name!, [MANAGED_BY]: MANAGER };
    for (let i = 0; i < Math.max(wanted.length, existing.length); i++) {
      const want = wanted[i];
      const have = existing[i];
      if (!want) {
        await this.sliceClient.delete(have!.metadata!.namespace, have!.metadata!.name!).catch(ignoreNotFound);
      } else if (!have) {
        await this.sliceClient.create({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            generateName: `${svc.metadata!.name}-`,
            namespace: svc.metadata!.namespace,
            labels,
            ownerReferences: [ownerRefTo(svc, 'v1', 'Service')],
          },
          addressType: 'IPv4',
          ...want,
        });
      } else if (
        !sameJson(have.endpoints, want.endpoints) ||
        !sameJson(have.ports, want.ports) ||
        !sameJson(have.metadata?.labels, labels)
      ) {
        await this.sliceClient.update({ ...have, metadata: { ...have.metadata, labels }, ...want }).catch(ignoreNotFound);
      }
    }
  }
}
