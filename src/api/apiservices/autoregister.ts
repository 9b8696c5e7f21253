// Keeps the stored local APIServices in step with what the server serves, as kube-aggregator's
// autoregistration does: the built-in ones (labelled automanaged=onstart) are created or corrected
// at every start; those of CustomResourceDefinitions (automanaged=true) come and go with the
// registry, created when a CRD's group/version is first served and deleted when the last CRD
// serving it goes. APIServices without the label are the user's and never touched.
import { isDeepStrictEqual } from 'node:util';
import { log } from '../../log.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { Registry } from '../registry/registry.js';
import type { ResourceDef } from '../registry/types.js';
import type { ObjectStore } from '../storage/object-store.js';
import { desiredAPIServices } from './local.js';
import { AUTOMANAGED_LABEL, type APIService } from './types.js';

const RETRY_MS = 1000;

type Stored = APIService & StoredObject;

/** A spec with absent and null fields alike, so a stored copy compares equal to the wanted one. */
const normalized = (spec: APIService['spec']) =>
  Object.fromEntries(Object.entries(spec ?? {}).filter(([, v]) => v !== undefined && v !== null));

/** What to do about one name: create, update (spec and label), delete, or nothing. */
export function plan(
  desired: APIService | undefined,
  current: Stored | undefined,
  atStart: boolean,
): 'create' | 'update' | 'delete' | undefined {
  const managed = current?.metadata.labels?.[AUTOMANAGED_LABEL];
  const wantedManaged = desired?.metadata?.labels?.[AUTOMANAGED_LABEL];
  // Built-in ones are only reconciled at start: one deleted by hand stays deleted until then.
  if (!atStart && (wantedManaged === 'onstart' || managed === 'onstart')) return undefined;
  if (!current) return desired ? 'create' : undefined;
  if (managed !== 'onstart' && managed !== 'true') return undefined;
  if (!desired) return 'delete';
  const same = isDeepStrictEqual(normalized(current.spec), normalized(desired.spec)) && managed === wantedManaged;
  return same ? undefined : 'update';
}

export class ApiServiceRegistration {
  private running = false;
  private pending = false;
  private stopped = false;
  /** The start's reconcile has not succeeded yet: the next one still corrects the built-in ones. */
  private startPending = false;
  private unsubscribe: (() => void) | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly objects: ObjectStore,
    private readonly registry: Registry,
    private readonly def: ResourceDef,
  ) {}

  /** Reconciles everything once (the registry already serves the stored CRDs), then follows the registry. */
  async start(): Promise<void> {
    this.unsubscribe = this.registry.onChange(() => this.schedule());
    try {
      await this.reconcile(true);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'apiservice autoregistration failed, will retry');
      this.startPending = true;
      this.retry = setTimeout(() => this.schedule(), RETRY_MS);
    }
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.retry);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.pending = true;
    if (this.running) return;
    this.running = true;
    // Not now: the registry tells of each def as a CRD is re-served (removed, then added back), and
    // reading it half way would delete that CRD's APIService only to create it again.
    setImmediate(() => void this.drain());
  }

  /** One reconcile at a time; changes that arrive meanwhile make one more. */
  private async drain(): Promise<void> {
    while (this.pending && !this.stopped) {
      this.pending = false;
      const atStart = this.startPending;
      this.startPending = false;
      try {
        await this.reconcile(atStart);
      } catch (err) {
        this.startPending ||= atStart;
        log.warn({ err: (err as Error).message }, 'apiservice autoregistration failed, will retry');
        this.retry = setTimeout(() => this.schedule(), RETRY_MS);
      }
    }
    this.running = false;
  }

  private async reconcile(atStart: boolean): Promise<void> {
    const desired = new Map(desiredAPIServices(this.registry).map((s) => [s.metadata!.name!, s]));
    const current = new Map((await this.objects.list(this.def, undefined)).items.map((o) => [o.metadata.name, o as Stored]));
    for (const name of new Set([...desired.keys(), ...current.keys()])) {
      const want = desired.get(name);
      const cur = current.get(name);
      const action = plan(want, cur, atStart);
      if (action === 'create') await this.createIfMissing(want!);
      else if (action === 'update') {
        await this.objects.guaranteedUpdate(
          this.def,
          undefined,
          name,
          (o: StoredObject): KObject => ({
            ...o,
            metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...want!.metadata!.labels } },
            spec: want!.spec,
          }),
        );
      } else if (action === 'delete')
        await this.objects
          .remove(this.def, cur!)
          .catch((err: Error & { reason?: string }) => (err.reason === 'NotFound' ? undefined : Promise.reject(err)));
    }
  }

  private async createIfMissing(svc: APIService): Promise<void> {
    try {
      await this.objects.create(this.def, undefined, svc as KObject);
    } catch (err) {
      // Another server sharing the datastore got there first.
      if ((err as { reason?: string }).reason !== 'AlreadyExists') throw err;
    }
  }
}
