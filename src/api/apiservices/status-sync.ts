// Runs inside the API server (as kube-aggregator's status controllers do, whether or not a controller
// manager runs): follows APIServices, Services and Endpoints and writes each APIService's Available
// condition when it changes. A watch that ends (compaction, a slow reader) is started again.
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import { log } from '../../log.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { Registry } from '../registry/registry.js';
import type { ResourceDef } from '../registry/types.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ApiWatchEvent, ObjectWatch } from '../storage/watch.js';
import { availableCondition, withCondition } from './availability.js';
import type { APIService } from './types.js';

const RESTART_MS = 1000;

export class ApiServiceStatusSync {
  private readonly watches = new Set<ObjectWatch>();
  private stopped = false;
  /** The APIServices as last seen, by name. */
  private readonly known = new Map<string, APIService>();
  private readonly def: ResourceDef;
  private readonly services: ResourceDef;
  private readonly endpoints: ResourceDef;

  constructor(
    private readonly objects: ObjectStore,
    registry: Registry,
  ) {
    this.def = registry.byResource('apiregistration.k8s.io', 'v1', 'apiservices')!;
    this.services = registry.byResource('', 'v1', 'services')!;
    this.endpoints = registry.byResource('', 'v1', 'endpoints')!;
  }

  /** Returns once every APIService stored now has its condition. */
  async start(): Promise<void> {
    await this.follow(this.def, (events) => this.onApiServices(events));
    // A service or its endpoints changing may change the APIServices that name it.
    const recheck = async (events: ApiWatchEvent[]) => {
      const touched = new Set(events.map((e) => `${e.object.metadata?.namespace}/${e.object.metadata?.name}`));
      for (const svc of this.known.values()) {
        const ref = svc.spec?.service;
        if (ref && touched.has(`${ref.namespace}/${ref.name}`)) await this.check(svc);
      }
    };
    await this.follow(this.services, recheck);
    await this.follow(this.endpoints, recheck);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches) w.close();
  }

  private async onApiServices(events: ApiWatchEvent[]): Promise<void> {
    for (const e of events) {
      const svc = e.object as APIService;
      const name = svc.metadata!.name!;
      if (e.type === 'DELETED') this.known.delete(name);
      else {
        this.known.set(name, svc);
        await this.check(svc);
      }
    }
  }

  private async check(svc: APIService): Promise<void> {
    const ref = svc.spec?.service;
    const [service, endpoints] =
      ref?.namespace && ref.name
        ? await Promise.all([
            this.objects.tryGet(this.services, ref.namespace, ref.name),
            this.objects.tryGet(this.endpoints, ref.namespace, ref.name),
          ])
        : [undefined, undefined];
    const cond = availableCondition(svc, service as Service | undefined, endpoints as Endpoints | undefined);
    if (!withCondition(svc, cond)) return;
    try {
      // Against the latest copy: only the condition is ours to change.
      await this.objects.guaranteedUpdate(
        this.def,
        undefined,
        svc.metadata!.name!,
        (cur: StoredObject): KObject => ({ ...cur, status: withCondition(cur as APIService, cond) ?? (cur as APIService).status }),
        { toStatus: true },
      );
    } catch (err) {
      if ((err as { reason?: string }).reason !== 'NotFound') throw err;
    }
  }

  /** Watches `def` from its current state (handled before this returns), watching again whenever the watch ends. */
  private follow(def: ResourceDef, handle: (events: ApiWatchEvent[]) => Promise<void>): Promise<void> {
    let ready!: () => void;
    const initial = new Promise<void>((resolve) => (ready = resolve));
    const failed = (err: unknown) => log.warn({ err: (err as Error).message, resource: def.plural }, 'apiservice status sync failed');
    void (async () => {
      while (!this.stopped) {
        try {
          const watch = await this.objects.watch(def, undefined, { resourceVersion: '' });
          this.watches.add(watch);
          try {
            // The first batch is the current state; later ones are changes.
            for await (const batch of watch.events) {
              await handle(batch).catch(failed);
              ready();
            }
          } finally {
            this.watches.delete(watch);
            watch.close();
          }
        } catch (err) {
          failed(err);
        }
        ready();
        if (!this.stopped) await new Promise((r) => setTimeout(r, RESTART_MS));
      }
    })();
    return initial;
  }
}
