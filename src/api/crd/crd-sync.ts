// Keeps the registry in step with the stored CustomResourceDefinitions: a CRD's kinds are served once
// it is stored (and it is marked Established); deleting a CRD deletes its custom resources first, as
// upstream's CRD finalizer does: each is deleted as a client's DELETE would (its finalizers run), and
// the CRD keeps its cleanup finalizer until none is left. Progress and failures are the CRD's
// Terminating condition in upstream's words; a failed or unfinished cleanup is tried again.
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.js';
import { log } from '../../log.js';
import { nowTimestamp } from '../../k8s/time.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { Registry } from '../registry/registry.js';
import type { ResourceDef } from '../registry/types.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ObjectWatch } from '../storage/watch.js';
import { crdResourceDefs } from './resource-defs.js';
import { deleteLatest } from '../storage/deletion.js';
import { isNotFound } from '../../k8s/errors.js';

export const CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

type Crd = CustomResourceDefinition & StoredObject;

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

interface Terminating {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

function condition(type: string, reason: string, message: string, status = 'True') {
  return { type, status, lastTransitionTime: nowTimestamp(), reason, message };
}

export class CrdSync {
  private watch: ObjectWatch | undefined;
  private readonly served = new Map<string, ResourceDef[]>();
  /** CRDs whose cleanup is to be tried again, with the delay of the next try. */
  private readonly retries = new Map<string, { timer: NodeJS.Timeout; delay: number }>();
  private stopped = false;
  /** Each deleting CRD as last handled, without its Terminating condition. */
  private readonly lastSeen = new Map<string, string>();

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
    this.stopped = true;
    this.watch?.close();
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  private async handle(type: string, crd: Crd): Promise<void> {
    const name = crd.metadata.name;
    if (type === 'DELETED') {
      this.forget(name);
      return this.unserve(name);
    }
    this.serve(crd);
    if (crd.metadata.deletionTimestamp) {
      // A change of the Terminating condition alone is this loop's own write (upstream ignores it too).
      const seen = withoutTerminating(crd);
      if (this.lastSeen.get(name) === seen) return;
      this.lastSeen.set(name, seen);
      return this.cleanUp(crd).catch((err: unknown) => {
        log.error({ err, crd: name }, 'custom resource cleanup failed, will retry');
        this.retryLater(name);
      });
    }
    await this.establish(crd);
  }

  private forget(name: string): void {
    clearTimeout(this.retries.get(name)?.timer);
    this.retries.delete(name);
    this.lastSeen.delete(name);
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
    const name = crd.metadata.name;
    if (!crd.metadata.finalizers?.includes(CLEANUP_FINALIZER)) return;
    const def = this.served.get(name)?.[0];
    const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    let outcome: Terminating;
    if (!def || !established) outcome = { status: 'False', reason: 'NeverEstablished', message: 'resource was never established' };
    else {
      if (!crd.status?.conditions?.some((c) => c.type === 'Terminating' && c.status === 'True'))
        await this.setTerminating(name, {
          status: 'True',
          reason: 'InstanceDeletionInProgress',
          message: 'CustomResource deletion is in progress',
        });
      outcome = await this.deleteInstances(def);
    }
    if (outcome.status === 'True') {
      // Not done (a delete failed, or objects wait for their finalizers): keep the finalizer, try again.
      await this.setTerminating(name, outcome);
      this.retryLater(name);
      return;
    }
    this.retries.delete(name);
    await this.setTerminating(name, outcome);
    await this.objects.guaranteedUpdate(this.crdDef, undefined, name, (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, finalizers: (cur.metadata.finalizers ?? []).filter((f) => f !== CLEANUP_FINALIZER) },
    }));
  }

  /** Deletes every custom object of the CRD; answers the Terminating condition that results. */
  private async deleteInstances(def: ResourceDef): Promise<Terminating> {
    let items: StoredObject[];
    try {
      items = (await this.objects.list(def, undefined)).items;
    } catch (err) {
      return { status: 'True', reason: 'InstanceDeletionFailed', message: `could not list instances: ${(err as Error).message}` };
    }
    const errors: string[] = [];
    for (const obj of items) {
      if (obj.metadata.deletionTimestamp) continue;
      await deleteLatest(this.objects, def, obj, { preconditions: { uid: obj.metadata.uid } }).catch((err: Error) => {
        if (!isNotFound(err)) errors.push(err.message);
      });
    }
    if (errors.length)
      return { status: 'True', reason: 'InstanceDeletionFailed', message: `could not issue all deletes: [${errors.join(', ')}]` };
    let left: number;
    try {
      left = (await this.objects.list(def, undefined)).items.length;
    } catch (err) {
      return {
        status: 'True',
        reason: 'InstanceDeletionCheck',
        message: `could not confirm zero CustomResources remaining: ${(err as Error).message}`,
      };
    }
    if (left > 0) return { status: 'True', reason: 'InstanceDeletionInProgress', message: 'CustomResource deletion is in progress' };
    return { status: 'False', reason: 'InstanceDeletionCompleted', message: 'removed all instances' };
  }

  private async setTerminating(name: string, t: Terminating): Promise<void> {
    const same = (c: { type: string; status: string; reason?: string; message?: string }) =>
      c.type === 'Terminating' && c.status === t.status && c.reason === t.reason && c.message === t.message;
    const current = (await this.objects.tryGet(this.crdDef, undefined, name)) as Crd | undefined;
    if (!current || current.status?.conditions?.some(same)) return;
    await this.objects.guaranteedUpdate(
      this.crdDef,
      undefined,
      name,
      (cur: KObject) => {
        const status = (cur as Crd).status ?? {};
        const conditions = status.conditions ?? [];
        const next = { ...condition('Terminating', t.reason, t.message, t.status) };
        return { ...cur, status: { ...status, conditions: [...conditions.filter((c) => c.type !== 'Terminating'), next] } };
      },
      { toStatus: true },
    );
  }

  /** Tries the cleanup of `name` again after a delay that doubles each time (1 s to 30 s). */
  private retryLater(name: string): void {
    if (this.stopped) return;
    const prev = this.retries.get(name);
    if (prev) clearTimeout(prev.timer);
    const delay = prev ? Math.min(prev.delay * 2, MAX_RETRY_MS) : FIRST_RETRY_MS;
    const timer = setTimeout(async () => {
      try {
        const crd = (await this.objects.tryGet(this.crdDef, undefined, name)) as Crd | undefined;
        if (crd?.metadata.deletionTimestamp) await this.cleanUp(crd);
        else this.retries.delete(name);
      } catch (err) {
        log.error({ err, crd: name }, 'custom resource cleanup failed, will retry');
        this.retryLater(name);
      }
    }, delay);
    this.retries.set(name, { timer, delay });
  }
}

function withoutTerminating(crd: Crd): string {
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = crd.metadata;
  const conditions = (crd.status?.conditions ?? []).filter((c) => c.type !== 'Terminating');
  return JSON.stringify({ ...crd, metadata, status: { ...crd.status, conditions } });
}
