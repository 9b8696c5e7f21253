// Objects every cluster has from its first start: the system namespaces.
import { ApiError } from '../api/errors.js';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function ensureSystemNamespaces(objects: ObjectStore, registry: Registry): Promise<void> {
  const namespaces = registry.byResource('', 'v1', 'namespaces')!;
  for (const name of SYSTEM_NAMESPACES) {
    try {
      await objects.create(namespaces, undefined, { metadata: { name } });
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
    }
  }
}
