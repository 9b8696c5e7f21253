// ownerReferences: who controls an object, and the reference a controller puts on what it creates.
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';

type KubeObject = { metadata?: { name?: string; uid?: string; ownerReferences?: readonly OwnerReference[] } };

export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller);
}

export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return controllerRef(obj)?.uid === owner.metadata?.uid;
}

/** The reference a controller sets on what it creates: controller, and blocking foreground deletion. */
export function ownerRefTo(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true };
}
