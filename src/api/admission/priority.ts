// Pod priority, as the Priority admission plugin sets it: the value of the pod's PriorityClass (or
// of the cluster's globalDefault class), with its preemption policy; an unknown class is refused.
import { ApiError } from '../../k8s/errors.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { Registry } from '../registry/registry.js';
import type { ObjectReader } from '../storage/object-store.js';
import type { AdmissionPlugin } from './plugin.js';

interface PriorityClass extends StoredObject {
  value: number;
  globalDefault?: boolean;
  preemptionPolicy?: string;
}

interface PodSpecPriority {
  priorityClassName?: string;
  priority?: number;
  preemptionPolicy?: string;
}

/** The classes every cluster has, for its own critical pods. */
export const SYSTEM_PRIORITY_CLASSES = [
  {
    name: 'system-node-critical',
    value: 2000001000,
    description: 'Used for system critical pods that must not be moved from their current node.',
  },
  {
    name: 'system-cluster-critical',
    value: 2000000000,
    description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  },
];

export function priorityAdmission(objects: ObjectReader, registry: Registry): AdmissionPlugin {
  const classes = () => registry.byResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  return {
    group: '',
    resource: 'pods',
    async admit(_def, obj: KObject, old) {
      if (old) return; // priority is fixed at creation
      const spec = obj.spec as PodSpecPriority | undefined;
      if (!spec) return;
      let pc: PriorityClass | undefined;
      if (spec.priorityClassName) {
        pc = (await objects.tryGet(classes(), undefined, spec.priorityClassName)) as PriorityClass | undefined;
        if (!pc)
          throw new ApiError(
            403,
            'Forbidden',
            `pods "${obj.metadata?.name ?? ''}" is forbidden: no PriorityClass with name ${spec.priorityClassName} was found`,
          );
      } else {
        pc = ((await objects.list(classes(), undefined)).items as PriorityClass[]).find((c) => c.globalDefault);
      }
      if (!pc) return;
      spec.priorityClassName = pc.metadata.name;
      spec.priority = pc.value;
      spec.preemptionPolicy = pc.preemptionPolicy ?? 'PreemptLowerPriority';
    },
  };
}
