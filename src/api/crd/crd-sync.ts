// Keeps the registry in step with the stored CustomResourceDefinitions: a CRD's kinds are served once
// it is stored (and it is marked Established); deleting a CRD deletes its custom resources first.
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.js';
import { log } from '../../log.js';
import { nowTimestamp } from '../../k8s/time.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { Registry } from '../registry/registry.js';
import type { ResourceDef } from '../registry/types.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ObjectWatch } from '../storage/watch.js';
import { crdResourceDefs } from './resource-defs.js';

export const CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

type Crd = CustomResourceDefinition & StoredObject;

function condition(type: string, reason: string, message: string, status = 'True') {
  return { type, status, lastTransitionTime: nowTimestamp(), reason, message };
}

export class CrdSync {
  private watch: ObjectWatch | undefined;
  private readonly served = new Map<string, ResourceDef[]>();

  constructor(
    private readonly objects: ObjectStore,
    private readonly registry: Registry,
    private readonly crdDef: ResourceDef,
  ) {}

  async start(): Promise<void> {
    this.watch = await this.objects.watch(this.crdDef, undefined, { resourceVersion: '' });
    const events = this.watch.events[Symbol.asyncIterator]();
    // The first batch is the current set of CRDs: serve them before the server says it is ready.
    const first = await events.next();
    for (const e of first.done ? [] : first.value) await this.handle(e.type, e.object as Crd);
    void (async () => {
      for (let r = await events.next(); !r.done; r = await events.next()) {
        for (const e of r.value)
          await this.handle(e.type, e.object as Crd).catch((err: unknown) =>
            log.error({ err, crd: e.object.metadata?.name }, 'custom resource definition sync failed'),
          );
      }
    })();
  }

  stop(): void {
    this.watch?.close();
  }

  private async handle(type: string, crd: Crd): Promise<void> {
    const name = crd.metadata.name;
    if (type === 'DELETED') return this.unserve(name);
    this.serve(crd);
    if (crd.metadata.deletionTimestamp) return this.cleanUp(crd);
    await this.establish(crd);
  }

  private serve(crd: Crd): void {
    const defs = crdResourceDefs(crd);
    this.unserve(crd.metadata.name);
    for (const def of defs) this.registry.add(def);
    this.served.set(crd.metadata.name, defs);
  }

  private unserve(name: string): void {
    for (const def of this.served.get(name) ?? []) this.registry.remove(def.group, def.version, def.plural);
    this.served.delete(name);
  }

  private async establish(crd: Crd): Promise<void> {
    const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    const hasFinalizer = crd.metadata.finalizers?.includes(CLEANUP_FINALIZER);
    const storage = crd.spec.versions.find((v) => v.storage)?.name ?? crd.spec.versions[0]?.name;
    if (!hasFinalizer) {
      await this.objects.guaranteedUpdate(this.crdDef, undefined, crd.metadata.name, (cur) => ({
        ...cur,
        metadata: { ...cur.metadata, finalizers: [...new Set([...(cur.metadata.finalizers ?? []), CLEANUP_FINALIZER])] },
      }));
    }
    if (established) return;
    await this.objects.guaranteedUpdate(
      this.crdDef,
      undefined,
      crd.metadata.name,
      (cur: KObject) => ({
        ...cur,
        status: {
          conditions: [
            condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
            condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
          ],
          acceptedNames: crd.spec.names,
          storedVersions: storage ? [storage] : [],
        },
      }),
      { toStatus: true },
    );
  }

  private async cleanUp(crd: Crd): Promise<void> {
    for (const def of this.served.get(crd.metadata.name)?.slice(0, 1) ?? []) {
      for (const obj of (await this.objects.list(def, undefined)).items) await this.objects.remove(def, obj).catch(() => undefined);
    }
    await this.objects.guaranteedUpdate(this.crdDef, undefined, crd.metadata.name, (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, finalizers: (cur.metadata.finalizers ?? []).filter((f) => f !== CLEANUP_FINALIZER) },
    }));
  }
}
