// How a DELETE proceeds: preconditions, then either marking the object (finalizers to run, or a
// pod on a node given its grace period to stop) or removing it at once.
import type { DeleteOptions } from 'kubernetes-types/meta/v1.js';
import { ApiError } from '../../k8s/errors.js';
import { nowTimestamp } from '../../k8s/time.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { ResourceDef } from '../registry/types.js';
import { retryOnModified } from './errors.js';
import type { ObjectStore } from './object-store.js';

export interface DeleteOutcome {
  object: StoredObject;
  /** True when the object is only marked for deletion and still exists. */
  pending: boolean;
}

const POLICY_FINALIZER: Record<string, string | undefined> = { Foreground: 'foregroundDeletion', Orphan: 'orphan' };

function checkPreconditions(obj: StoredObject, opts: DeleteOptions): void {
  const p = opts.preconditions;
  if (p?.uid && p.uid !== obj.metadata.uid) {
    throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${obj.metadata.uid}`);
  }
  if (p?.resourceVersion && p.resourceVersion !== obj.metadata.resourceVersion) {
    throw new ApiError(409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`);
  }
}

/** Seconds a pod gets to stop; 0 when it never ran on a node or has already finished. */
function podGracePeriod(pod: StoredObject, opts: DeleteOptions): number {
  const spec = pod.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (!spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  return Math.max(0, opts.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30);
}

export async function deleteObject(
  objects: ObjectStore,
  def: ResourceDef,
  current: StoredObject,
  opts: DeleteOptions,
  ctx: { dryRun?: boolean; now?: Date } = {},
): Promise<DeleteOutcome> {
  checkPreconditions(current, opts);
  const now = ctx.now ?? new Date();
  const meta = { ...current.metadata };
  const finalizers = [...(meta.finalizers ?? [])];
  const added = POLICY_FINALIZER[opts.propagationPolicy ?? ''];
  if (added && !finalizers.includes(added)) finalizers.push(added);

  const grace = def.group === '' && def.plural === 'pods' ? podGracePeriod(current, opts) : 0;
  // A namespace with spec.finalizers (the namespace controller's "kubernetes") is emptied first.
  const namespaceFinalizers = isNamespace(def) ? ((current as { spec?: { finalizers?: string[] } }).spec?.finalizers ?? []) : [];
  if (namespaceFinalizers.length > 0 && finalizers.length === 0) {
    if (ctx.dryRun) return { object: current, pending: true };
    if (meta.deletionTimestamp) return { object: current, pending: true };
    meta.deletionTimestamp = nowTimestamp(now);
    meta.deletionGracePeriodSeconds = 0;
    const status = { ...(current as { status?: object }).status, phase: 'Terminating' };
    return { object: await objects.replaceAsIs(def, current, { ...current, metadata: meta, status } as StoredObject), pending: true };
  }
  const alreadyMarked = !!meta.deletionTimestamp;
  if (grace > 0) {
    const deadline = new Date(now.getTime() + grace * 1000);
    // A second delete may shorten the grace period, never extend it.
    if (!alreadyMarked || deadline < new Date(meta.deletionTimestamp!)) {
      meta.deletionTimestamp = nowTimestamp(deadline);
      meta.deletionGracePeriodSeconds = grace;
    }
  } else if (finalizers.length > 0) {
    meta.deletionTimestamp ??= nowTimestamp(now);
    meta.deletionGracePeriodSeconds = 0;
  }
  const marking = { ...current } as StoredObject & { status?: object };
  if (isNamespace(def) && finalizers.length > 0) marking.status = { ...marking.status, phase: 'Terminating' };
  if (grace > 0 || finalizers.length > 0) {
    meta.finalizers = finalizers;
    const marked = { ...marking, metadata: meta };
    if (ctx.dryRun) return { object: marked, pending: true };
    const unchanged = alreadyMarked && meta.deletionTimestamp === current.metadata.deletionTimestamp && finalizers.length === (current.metadata.finalizers?.length ?? 0);
    return { object: unchanged ? current : await objects.replaceAsIs(def, current, marked), pending: true };
  }
  if (ctx.dryRun) return { object: current, pending: false };
  return { object: await objects.remove(def, current), pending: false };
}

/**
 * Deletes the object, starting from `current` as read and, when another writer changes it first,
 * from the latest version: a DELETE conflicts only with the client's own preconditions.
 */
export async function deleteLatest(
  objects: ObjectStore,
  def: ResourceDef,
  current: StoredObject,
  opts: DeleteOptions,
  ctx: { dryRun?: boolean } = {},
): Promise<DeleteOutcome> {
  let read: StoredObject | undefined = current;
  return retryOnModified(async () => {
    const latest = read ?? (await objects.get(def, current.metadata.namespace, current.metadata.name));
    read = undefined;
    return deleteObject(objects, def, latest, opts, ctx);
  });
}

export const isNamespace = (def: ResourceDef) => def.group === '' && def.plural === 'namespaces';

/** Whether an object marked for deletion has nothing left to wait for and may go. */
export function deletionFinished(def: ResourceDef, obj: KObject): boolean {
  const meta = obj.metadata!;
  if (!meta.deletionTimestamp || meta.finalizers?.length || meta.deletionGracePeriodSeconds) return false;
  return !isNamespace(def) || !(obj as { spec?: { finalizers?: string[] } }).spec?.finalizers?.length;
}
