// DefaultStorageClass, as upstream's admission plugin: a claim created without a class gets the
// cluster's default (the StorageClass annotated is-default-class "true"; of several, the newest, and
// by name when they are equally new). A claim that says storageClassName: "" keeps it: it asks for no class.
// And PersistentVolumeClaimResize: a claim's request grows only if its class allows expansion.
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { requestedStorage } from '../../k8s/volume-match.js';
import type { Registry } from '../registry/registry.js';
import type { ObjectReader } from '../storage/object-store.js';
import { admissionForbidden } from './node-restriction.js';
import type { AdmissionPlugin } from './plugin.js';

export const IS_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
const BETA_IS_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';
const BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';

/** Whether a StorageClass is marked the default (either annotation, as upstream reads them). */
export const isDefaultClass = (sc: { metadata?: { annotations?: Record<string, string> } }) =>
  sc.metadata?.annotations?.[IS_DEFAULT_CLASS] === 'true' || sc.metadata?.annotations?.[BETA_IS_DEFAULT_CLASS] === 'true';

/** The default class among these (upstream's GetDefaultClass), or undefined when none is marked. */
export function defaultClass(classes: StoredObject[]): StoredObject | undefined {
  const marked = classes.filter(isDefaultClass);
  marked.sort((a, b) => {
    const [ta, tb] = [a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? ''];
    return ta === tb ? (a.metadata.name < b.metadata.name ? -1 : 1) : ta > tb ? -1 : 1;
  });
  return marked[0];
}

const requested = (claim: KObject) => requestedStorage(claim as PersistentVolumeClaim);

export function defaultStorageClassAdmission(objects: ObjectReader, registry: Registry): AdmissionPlugin {
  const classes = () => registry.byResource('storage.k8s.io', 'v1', 'storageclasses')!;
  return {
    group: '',
    resource: 'persistentvolumeclaims',
    async admit(_def, obj: KObject, old) {
      if (old) return;
      const spec = (obj.spec ?? {}) as { storageClassName?: string | null };
      if (spec.storageClassName != null || obj.metadata?.annotations?.[BETA_STORAGE_CLASS] !== undefined) return;
      const sc = defaultClass((await objects.list(classes(), undefined)).items as StoredObject[]);
      if (sc) obj.spec = { ...spec, storageClassName: sc.metadata.name };
    },
    // PersistentVolumeClaimResize: a claim grows only where its class allows expansion.
    async validate(def, obj: KObject, old) {
      if (!old || requested(obj) <= requested(old)) return;
      const name = (obj.spec as { storageClassName?: string } | undefined)?.storageClassName;
      const sc = name ? ((await objects.tryGet(classes(), undefined, name)) as { allowVolumeExpansion?: boolean } | undefined) : undefined;
      if (!sc?.allowVolumeExpansion) {
        const why = 'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize';
        throw admissionForbidden(def, obj.metadata?.name ?? '', why);
      }
    },
  };
}
