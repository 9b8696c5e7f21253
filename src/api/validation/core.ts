// core/v1 kinds' own rules (metadata rules come from object-meta.ts).
import { isDeepStrictEqual } from 'node:util';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { FieldError } from '../../k8s/errors.js';
import type { KObject } from '../../k8s/object.js';
import { check, configKey, dns1123Label, duplicate, forbidden, invalidValue, notSupported, required } from './names.js';
import { validatePodSpec } from './pod-spec.js';

export const immutable = (field: string, value: unknown): FieldError => invalidValue(field, value, 'field is immutable');

/** What a pod update may change in spec: images, the deadline, and added tolerations. */
function podSpecUpdate(pod: Pod, old: Pod): FieldError[] {
  const scrub = (p: Pod) => {
    const spec = structuredClone(p.spec ?? {}) as NonNullable<Pod['spec']>;
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) delete (c as { image?: string }).image;
    delete spec.activeDeadlineSeconds;
    delete spec.tolerations;
    delete spec.terminationGracePeriodSeconds;
    return spec;
  };
  const oldTolerations = old.spec?.tolerations ?? [];
  const keptTolerations = oldTolerations.every((t) => (pod.spec?.tolerations ?? []).some((n) => isDeepStrictEqual(n, t)));
  if (isDeepStrictEqual(scrub(pod), scrub(old)) && keptTolerations) return [];
  return [
    forbidden(
      'spec',
      'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,' +
        '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),' +
        '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    ),
  ];
}

export function validatePod(pod: Pod, old?: Pod): FieldError[] {
  const errors = validatePodSpec(pod.spec, 'spec');
  if (old) errors.push(...podSpecUpdate(pod, old));
  return errors;
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

export function validateService(svc: Service, old?: Service): FieldError[] {
  const spec = svc.spec ?? {};
  const errors: FieldError[] = [];
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) errors.push(notSupported('spec.type', type, SERVICE_TYPES));
  const ports = spec.ports ?? [];
  if (type === 'ExternalName') {
    if (!spec.externalName) errors.push(required('spec.externalName'));
  } else if (ports.length === 0 && spec.clusterIP !== 'None') errors.push(required('spec.ports'));
  const names = new Set<string>();
  for (const [i, p] of ports.entries()) {
    const at = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errors.push(required(`${at}.name`));
    if (p.name) {
      errors.push(...check(`${at}.name`, p.name, dns1123Label));
      if (names.has(p.name)) errors.push(duplicate(`${at}.name`, p.name));
      names.add(p.name);
    }
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      errors.push(invalidValue(`${at}.port`, p.port, 'must be between 1 and 65535, inclusive'));
    if (p.protocol && !PROTOCOLS.includes(p.protocol)) errors.push(notSupported(`${at}.protocol`, p.protocol, PROTOCOLS));
    if (p.nodePort !== undefined && type !== 'NodePort' && type !== 'LoadBalancer')
      errors.push(forbidden(`${at}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
    const target = p.targetPort;
    if (typeof target === 'number' && (target < 1 || target > 65535))
      errors.push(invalidValue(`${at}.targetPort`, target, 'must be between 1 and 65535, inclusive'));
  }
  const oldIP = old?.spec?.clusterIP;
  if (oldIP && old?.spec?.type !== 'ExternalName' && type !== 'ExternalName' && spec.clusterIP !== undefined && spec.clusterIP !== oldIP)
    errors.push(immutable('spec.clusterIPs[0]', spec.clusterIP));
  return errors;
}

export function validateNamespace(ns: KObject, old?: KObject): FieldError[] {
  return old && ns.metadata?.name !== old.metadata?.name ? [immutable('metadata.name', ns.metadata?.name)] : [];
}

/** ConfigMaps and Secrets: key syntax, no key in both maps, and `immutable: true` honoured. */
export function validateConfigMapLike(
  obj: KObject & { immutable?: boolean; type?: string },
  old?: KObject & { immutable?: boolean; type?: string },
): FieldError[] {
  const errors: FieldError[] = [];
  const data = (obj.data ?? {}) as Record<string, unknown>;
  const binary = (obj.binaryData ?? obj.stringData ?? {}) as Record<string, unknown>;
  for (const field of ['data', 'binaryData', 'stringData'] as const) {
    for (const key of Object.keys((obj[field] ?? {}) as object))
      errors.push(...configKey(key).map((why) => invalidValue(`${field}[${key}]`, key, why)));
  }
  if (obj.kind === 'ConfigMap')
    for (const key of Object.keys(binary))
      if (key in data) errors.push(invalidValue('data', key, 'duplicate of key present in binaryData'));
  if (old?.immutable) {
    if (!isDeepStrictEqual(obj.data, old.data) || !isDeepStrictEqual(obj.binaryData, old.binaryData))
      errors.push(forbidden('data', 'field is immutable when `immutable` is set'));
    if (!obj.immutable) errors.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  }
  if (old && obj.kind === 'Secret' && old.type !== obj.type) errors.push(immutable('type', obj.type));
  return errors;
}

export function validateNode(
  node: KObject & { spec?: { podCIDR?: string } },
  old?: KObject & { spec?: { podCIDR?: string } },
): FieldError[] {
  const was = old?.spec?.podCIDR;
  return was && node.spec?.podCIDR !== was
    ? [forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid')]
    : [];
}
