// Objects in the datastore: JSON under /registry/<resource>/<namespace>/<name>, without their
// resourceVersion, which is the datastore revision and is filled in on the way out.
import type { KeyValue } from '../../store/index.js';
import type { ResourceDef } from '../registry/types.js';
import type { KObject, StoredObject } from '../../k8s/object.js';

export function storagePrefix(def: ResourceDef): string {
  return def.storagePrefix ?? (def.custom ? `${def.group}/${def.plural}` : def.plural);
}

/** The key of one object, or with `name` undefined the prefix of a namespace (or of all). */
export function keyFor(def: ResourceDef, namespace: string | undefined, name?: string): string {
  const base = `/registry/${storagePrefix(def)}/`;
  if (!def.namespaced) return name === undefined ? base : base + name;
  if (namespace === undefined) return base;
  return name === undefined ? `${base}${namespace}/` : `${base}${namespace}/${name}`;
}

export function encode(obj: KObject): Buffer {
  const { resourceVersion: _rv, ...metadata } = obj.metadata ?? {};
  return Buffer.from(JSON.stringify({ ...obj, metadata }));
}

export function decode(kv: Pick<KeyValue, 'value' | 'modRevision'>, revision = kv.modRevision): StoredObject {
  const obj = JSON.parse(kv.value.toString()) as StoredObject;
  obj.metadata.resourceVersion = String(revision);
  return obj;
}
