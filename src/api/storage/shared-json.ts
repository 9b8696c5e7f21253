// Serialize once: the watch cache holds each revision of an object as one frozen object, and its JSON
// is made the first time a list, get or watch needs it and then reused by every other reader of that
// revision. Objects not from the cache (a create's answer, say) are serialized each time.
import type { KObject } from '../../k8s/object.js';

/** The JSON of shared objects without apiVersion and kind (a list item's form). */
const itemJsons = new WeakMap<object, string>();
const shared = new WeakSet<object>();

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/** Makes `obj` a read-only object that may be handed to any number of readers. */
export function share<T extends object>(obj: T): T {
  deepFreeze(obj);
  shared.add(obj);
  return obj;
}

/** The object as a list item: apiVersion and kind are the list's. */
export function itemJson(obj: KObject): string {
  let json = itemJsons.get(obj);
  if (json === undefined) {
    const { apiVersion: _a, kind: _k, ...rest } = obj;
    json = JSON.stringify(rest);
    if (shared.has(obj)) itemJsons.set(obj, json);
  }
  return json;
}

/** The whole object, kind and apiVersion first as kube-apiserver writes them. */
export function objectJson(obj: KObject): string {
  if (obj.kind === undefined || obj.apiVersion === undefined) return JSON.stringify(obj);
  const item = itemJson(obj);
  const head = `{"kind":${JSON.stringify(obj.kind)},"apiVersion":${JSON.stringify(obj.apiVersion)}`;
  return item === '{}' ? `${head}}` : `${head},${item.slice(1)}`;
}

/** One line of a watch stream. */
export function watchEventJson(type: string, obj: KObject): string {
  return `{"type":"${type}","object":${objectJson(obj)}}\n`;
}

/** The JSON of shared item arrays (the cache's lists), with the head it was made with. */
const listJsons = new WeakMap<object, { head: string; json: Buffer<ArrayBuffer> }>();

/**
 * A list (`<Kind>List`) whose items are serialized once each; a shared list of them, once in all.
 * In UTF-8 bytes: a response written from a string is measured and encoded again at every write.
 */
export function listJson(
  kind: string,
  apiVersion: string,
  metadata: Record<string, unknown>,
  items: readonly KObject[],
): Buffer<ArrayBuffer> {
  const head = `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(metadata)}`;
  const known = listJsons.get(items);
  if (known?.head === head) return known.json;
  const json = Buffer.from(`${head},"items":[${items.map(itemJson).join(',')}]}`);
  if (shared.has(items)) listJsons.set(items, { head, json });
  return json;
}
