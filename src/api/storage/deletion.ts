// How a DELETE proceeds: preconditions, then either marking the object (finalizers to run, or the
// grace period its kind gives it, see DeletionRules) or removing it at once.
import type { DeleteOptions } from 'kubernetes-types/meta/v1.js';
import { ApiError } from '../../k8s/errors.js';
import { nowTimestamp } from '../../k8s/time.js';
import type { StoredObject } from '../../k8s/object.js';
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
    throw new ApiError(
      409,
      'Conflict',
      `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ` +
        `ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
    );
  }
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

  const rules = def.deletion;
  const grace = rules?.gracePeriodSeconds?.(current, opts.gracePeriodSeconds) ?? 0;
  const terminating = (obj: StoredObject) => (rules?.terminatingStatus ? { ...obj, status: rules.terminatingStatus(obj) } : obj);
  // Finalizers the kind keeps in its spec (a namespace's "kubernetes") are worked off first.
  if ((rules?.specFinalizers?.(current).length ?? 0) > 0 && finalizers.length === 0) {
    if (ctx.dryRun) return { object: current, pending: true };
    if (meta.deletionTimestamp) return { object: current, pending: true };
    meta.deletionTimestamp = nowTimestamp(now);
    meta.deletionGracePeriodSeconds = 0;
    return { object: await objects.replaceAsIs(def, current, terminating({ ...current, metadata: meta })), pending: true };
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
  const marking = finalizers.length > 0 ? terminating(current) : { ...current };
  if (grace > 0 || finalizers.length > 0) {
    meta.finalizers = finalizers;
    const marked = { ...marking, metadata: meta };
    if (ctx.dryRun) return { object: marked, pending: true };
    const unchanged =
      alreadyMarked &&
      meta.deletionTimestamp === current.metadata.deletionTimestamp &&
      finalizers.length === (current.metadata.finalizers?.length ?? 0);
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
