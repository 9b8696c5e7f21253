// Objects in the datastore: JSON under /registry/<resource>/<namespace>/<name>, without their
// resourceVersion, which is the datastore revision and is filled in on the way out. Between the JSON
// and the datastore sits the resource's value transformer (encryption at rest, or nothing).
import type { KeyValue } from '../../store/index.js';
import { TransformError, type ValueTransformer } from './transformer.js';
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

/** The bytes to store for `obj` under `key`, through the resource's transformer. */
export function encodeFor(transformer: ValueTransformer, key: string, obj: KObject): Buffer {
  return transformer.toStorage(encode(obj), key);
}

/** A stored value read back through the resource's transformer. */
export function decodeFrom(
  transformer: ValueTransformer,
  kv: Pick<KeyValue, 'key' | 'value' | 'modRevision'>,
  revision = kv.modRevision,
): StoredObject {
  const plain = transformer.fromStorage(kv.value, kv.key);
  try {
    return decode({ value: plain, modRevision: kv.modRevision }, revision);
  } catch (err) {
    if (plain === kv.value) throw err;
    // AES-CBC with a wrong key passes its padding check once in 256 tries and yields noise.
    throw new TransformError(kv.key, 'the decrypted value is not a JSON object: it was written with another key of the same name');
  }
}
