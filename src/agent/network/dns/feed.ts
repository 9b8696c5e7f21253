// Keeps the cluster zone (records.ts) in step with the API: Services and EndpointSlices through
// informers, a Service re-indexed whenever it or one of its slices (found by their
// kubernetes.io/service-name label, user-made slices included) changes.
import { Informer, keyOf } from '../../../client/informer.js';
import type { ApiClient } from '../../../client/rest-client.js';
import { endpointSlices, services, type Writable } from '../../../client/resources.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { ClusterRecords } from './records.js';

const SERVICE_NAME = 'kubernetes.io/service-name';

type Slice = Writable<EndpointSlice>;
type Svc = Writable<Service>;

const sliceService = (s: Slice) => {
  const name = s.metadata?.labels?.[SERVICE_NAME];
  return name && s.metadata?.namespace ? `${s.metadata.namespace}/${name}` : undefined;
};

/** What nobody here reads, dropped before caching (managed fields are most of an object's size). */
function slim<O>(obj: O): O {
  const o = obj as { metadata?: Record<string, unknown> };
  if (o.metadata) o.metadata = { ...o.metadata, managedFields: undefined, annotations: undefined };
  return obj;
}

export class ZoneFeed {
  private readonly services: Informer<Svc>;
  private readonly slices: Informer<Slice>;

  constructor(
    api: ApiClient,
    private readonly zone: ClusterRecords,
  ) {
    const client = api.as('skiff-dns');
    this.services = new Informer(client.resource(services), { transform: slim });
    this.slices = new Informer(client.resource(endpointSlices), { transform: slim });
    this.slices.addIndex('service', (s) => {
      const key = sliceService(s);
      return key ? [key] : [];
    });
    this.services.on({
      add: (s) => this.sync(keyOf(s)),
      update: (_old, s) => this.sync(keyOf(s)),
      delete: (s) => this.zone.deleteService(keyOf(s)),
    });
    const touched = (s: Slice) => {
      const key = sliceService(s);
      if (key) this.sync(key);
    };
    this.slices.on({
      add: touched,
      update: (old, s) => {
        if (sliceService(old) !== sliceService(s)) touched(old);
        touched(s);
      },
      delete: touched,
    });
  }

  /** Starts watching; resolves once both first lists are in (the zone is then complete). */
  async start(): Promise<void> {
    this.services.start();
    this.slices.start();
    await Promise.all([this.services.synced(), this.slices.synced()]);
  }

  stop(): void {
    this.services.stop();
    this.slices.stop();
  }

  private sync(key: string): void {
    const svc = this.services.get(key);
    if (!svc) this.zone.deleteService(key);
    else this.zone.setService(svc, this.slices.byIndex('service', key));
  }
}
