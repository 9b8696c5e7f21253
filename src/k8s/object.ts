// The shape every Kubernetes object shares; kind-specific fields stay untyped at this layer.
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

/** ObjectMeta without kubernetes-types' read-only markers: the server is the one who writes them. */
export type Meta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };

/** kubernetes-types marks every field read-only; the objects a component builds and edits are its own. */
export type Writable<T> = T extends readonly (infer U)[]
  ? Writable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: Writable<T[K]> }
    : T;

export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  [field: string]: unknown;
}

/** Objects as read back from the store: metadata is always present. */
export interface StoredObject extends KObject {
  apiVersion: string;
  kind: string;
  metadata: Meta & { name: string; uid: string; resourceVersion: string; creationTimestamp: string };
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Reads a dotted path such as `spec.replicas` or `status.conditions`. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (part === '') continue;
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
