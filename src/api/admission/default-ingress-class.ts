// DefaultIngressClass, as upstream's admission plugin: an Ingress created without a class (neither
// spec.ingressClassName nor the old kubernetes.io/ingress.class annotation) gets the cluster's
// default, the IngressClass annotated is-default-class "true" (of several, the newest, then by name).
import { classOf, IS_DEFAULT_INGRESS_CLASS } from '../../k8s/ingress.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { Registry } from '../registry/registry.js';
import type { ObjectReader } from '../storage/object-store.js';
import type { AdmissionPlugin } from './plugin.js';

/** The default class among these, or undefined when none is marked. */
export function defaultIngressClass(classes: StoredObject[]): string | undefined {
  const marked = classes.filter((c) => c.metadata.annotations?.[IS_DEFAULT_INGRESS_CLASS] === 'true');
  const newestFirst = (c: StoredObject) => `${c.metadata.creationTimestamp ?? ''}`;
  marked.sort((a, b) => newestFirst(b).localeCompare(newestFirst(a)) || a.metadata.name.localeCompare(b.metadata.name));
  return marked[0]?.metadata.name;
}

export function defaultIngressClassAdmission(objects: ObjectReader, registry: Registry): AdmissionPlugin {
  const classes = () => registry.byResource('networking.k8s.io', 'v1', 'ingressclasses')!;
  return {
    group: 'networking.k8s.io',
    resource: 'ingresses',
    async admit(_def, obj: KObject, old) {
      if (old || classOf(obj as never) !== undefined) return;
      const name = defaultIngressClass((await objects.list(classes(), undefined)).items as StoredObject[]);
      if (name) obj.spec = { ...(obj.spec ?? {}), ingressClassName: name };
    },
  };
}
