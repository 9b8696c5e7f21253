// Pod spec checks shared by pods and every pod template: containers, ports, restart policy, volumes.
import type { Container, PodSpec } from 'kubernetes-types/core/v1.js';
import type { FieldError } from '../../k8s/errors.js';
import { check, dns1123Label, duplicate, invalidValue, notSupported, required } from './names.js';

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];

function validPort(field: string, port: unknown): FieldError[] {
  return Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535
    ? []
    : [invalidValue(field, port, 'must be between 1 and 65535, inclusive')];
}

function validateContainers(containers: Container[] | undefined, at: string, names: Set<string>, volumes: Set<string>): FieldError[] {
  const errors: FieldError[] = [];
  for (const [i, c] of (containers ?? []).entries()) {
    const p = `${at}[${i}]`;
    if (!c.name) errors.push(required(`${p}.name`));
    else {
      errors.push(...check(`${p}.name`, c.name, dns1123Label));
      if (names.has(c.name)) errors.push(duplicate(`${p}.name`, c.name));
      names.add(c.name);
    }
    if (!c.image?.trim()) errors.push(required(`${p}.image`));
    if (c.imagePullPolicy && !PULL_POLICIES.includes(c.imagePullPolicy))
      errors.push(notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
    for (const [j, port] of (c.ports ?? []).entries()) {
      errors.push(...validPort(`${p}.ports[${j}].containerPort`, port.containerPort));
      if (port.hostPort !== undefined && port.hostPort !== 0) errors.push(...validPort(`${p}.ports[${j}].hostPort`, port.hostPort));
      if (port.protocol && !PROTOCOLS.includes(port.protocol))
        errors.push(notSupported(`${p}.ports[${j}].protocol`, port.protocol, PROTOCOLS));
    }
    for (const [j, e] of (c.env ?? []).entries()) if (!e.name) errors.push(required(`${p}.env[${j}].name`));
    for (const [j, m] of (c.volumeMounts ?? []).entries()) {
      if (!volumes.has(m.name))
        errors.push({ field: `${p}.volumeMounts[${j}].name`, type: 'FieldValueNotFound', detail: `Not found: ${JSON.stringify(m.name)}` });
      if (!m.mountPath) errors.push(required(`${p}.volumeMounts[${j}].mountPath`));
    }
  }
  return errors;
}

export function validatePodSpec(spec: PodSpec | undefined, at: string, restartPolicies = RESTART_POLICIES): FieldError[] {
  if (!spec) return [required(at)];
  const errors: FieldError[] = [];
  if (!spec.containers || spec.containers.length === 0) errors.push(required(`${at}.containers`));
  const volumes = new Set<string>();
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    if (!v.name) errors.push(required(`${at}.volumes[${i}].name`));
    else if (volumes.has(v.name)) errors.push(duplicate(`${at}.volumes[${i}].name`, v.name));
    else errors.push(...check(`${at}.volumes[${i}].name`, v.name, dns1123Label));
    volumes.add(v.name);
  }
  const names = new Set<string>();
  errors.push(...validateContainers(spec.initContainers, `${at}.initContainers`, names, volumes));
  errors.push(...validateContainers(spec.containers, `${at}.containers`, names, volumes));
  if (spec.restartPolicy && !restartPolicies.includes(spec.restartPolicy))
    errors.push(notSupported(`${at}.restartPolicy`, spec.restartPolicy, restartPolicies));
  if (spec.terminationGracePeriodSeconds !== undefined && spec.terminationGracePeriodSeconds < 0) {
    errors.push(
      invalidValue(`${at}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be greater than or equal to 0'),
    );
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds < 1) {
    errors.push(invalidValue(`${at}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  }
  return errors;
}
