// metadata rules every kind shares: name syntax for its kind, labels, annotations, finalizers and
// owner references. `withMeta` joins them with a kind's own checks.
import type { FieldError } from '../../k8s/errors.js';
import type { KObject } from '../../k8s/object.js';
import {
  check,
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  invalidValue,
  labelValue,
  pathSegment,
  qualifiedName,
  required,
  type NameRule,
} from './names.js';

const NAME_RULES: Record<string, NameRule> = {
  namespaces: dns1123Label,
  services: dns1035Label,
  roles: pathSegment,
  clusterroles: pathSegment,
  rolebindings: pathSegment,
  clusterrolebindings: pathSegment,
  // version.group, and `v1.` for the core group: checked in full by validateAPIService.
  apiservices: pathSegment,
  // Upstream: "We don't care what you call your certificate requests" (kubelets use base64url names).
  certificatesigningrequests: pathSegment,
};

const MAX_ANNOTATION_BYTES = 256 * 1024;

export function validateObjectMeta(obj: KObject, plural: string): FieldError[] {
  const meta = obj.metadata ?? {};
  const errors: FieldError[] = [];
  if (!meta.name) errors.push(required('metadata.name', 'name or generateName is required'));
  else errors.push(...check('metadata.name', meta.name, NAME_RULES[plural] ?? dns1123Subdomain));
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    errors.push(...qualifiedName(k).map((why) => invalidValue('metadata.labels', k, why)));
    if (typeof v !== 'string') errors.push(invalidValue(`metadata.labels`, v, 'label values must be strings'));
    else errors.push(...labelValue(v).map((why) => invalidValue('metadata.labels', v, why)));
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    errors.push(...qualifiedName(k.toLowerCase()).map((why) => invalidValue('metadata.annotations', k, why)));
    annotationBytes += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  }
  if (annotationBytes > MAX_ANNOTATION_BYTES)
    errors.push({
      field: 'metadata.annotations',
      type: 'FieldValueTooLong',
      detail: `Too long: must have at most ${MAX_ANNOTATION_BYTES} bytes`,
    });
  for (const [i, f] of (meta.finalizers ?? []).entries())
    errors.push(...qualifiedName(f).map((why) => invalidValue(`metadata.finalizers[${i}]`, f, why)));
  for (const [i, o] of (meta.ownerReferences ?? []).entries()) {
    const at = `metadata.ownerReferences[${i}]`;
    if (!o.apiVersion) errors.push(invalidValue(`${at}.apiVersion`, o.apiVersion ?? '', 'version must not be empty'));
    if (!o.kind) errors.push(invalidValue(`${at}.kind`, o.kind ?? '', 'kind must not be empty'));
    if (!o.name) errors.push(invalidValue(`${at}.name`, o.name ?? '', 'name must not be empty'));
    if (!o.uid) errors.push(invalidValue(`${at}.uid`, o.uid ?? '', 'uid must not be empty'));
  }
  if ((meta.ownerReferences ?? []).filter((o) => o.controller).length > 1)
    errors.push(invalidValue('metadata.ownerReferences', 'controller', 'Only one reference can have Controller set to true'));
  return errors;
}

/** A kind's own rules, written against its type (Pod, Service, ...). */
export type KindValidator<T> = (obj: T, old?: T) => FieldError[];

/** A ResourceDef `validate`: shared metadata rules, then the kind's own (the registry validates only objects of that kind). */
export function withMeta<T>(plural: string, kind?: KindValidator<T>): (obj: KObject, old?: KObject) => FieldError[] {
  return (obj, old) => [...validateObjectMeta(obj, plural), ...(kind?.(obj as T, old as T | undefined) ?? [])];
}
