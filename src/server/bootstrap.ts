// Objects every cluster has from its first start: the system namespaces and priority classes.
import { ApiError } from '../api/errors.js';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { SYSTEM_PRIORITY_CLASSES } from '../api/admission/priority.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

async function createIfMissing(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
  }
}

export async function ensureSystemNamespaces(objects: ObjectStore, registry: Registry): Promise<void> {
  const namespaces = registry.byResource('', 'v1', 'namespaces')!;
  for (const name of SYSTEM_NAMESPACES) await createIfMissing(() => objects.create(namespaces, undefined, { metadata: { name } }));
}

export async function ensureSystemPriorityClasses(objects: ObjectStore, registry: Registry): Promise<void> {
  const classes = registry.byResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  for (const { name, value, description } of SYSTEM_PRIORITY_CLASSES) {
    await createIfMissing(() => objects.create(classes, undefined, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, description, preemptionPolicy: 'PreemptLowerPriority' }));
  }
}
