// Whether an object marked for deletion may go now: the check every write of such an object makes
// (the last finalizer removed, the grace period over), kept apart from the DELETE flow itself.
import type { KObject } from '../../k8s/object.js';
import type { ResourceDef } from '../registry/types.js';

export function deletionFinished(def: ResourceDef, obj: KObject): boolean {
  const meta = obj.metadata!;
  if (!meta.deletionTimestamp || meta.finalizers?.length || meta.deletionGracePeriodSeconds) return false;
  return !def.deletion?.specFinalizers?.(obj).length;
}
