// The Restricted level's own checks, as upstream's pod-security-admission defines them; from policy
// v1.25 on, the ones Windows cannot honour leave Windows pods (spec.os.name: windows) alone.
import type { CheckFn } from './checks-baseline.js';
import { validSeccomp } from './checks-baseline.js';
import {
  containerName,
  containers,
  isWindows,
  type Json,
  joinQuote,
  list,
  obj,
  pluralize,
  podSecurityContext,
  securityContext,
  sortedSet,
  str,
} from './pod-view.js';

const containerList = (names: string[]) => `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
const notOnWindows =
  (check: CheckFn): CheckFn =>
  (meta, spec) =>
    isWindows(spec) ? undefined : check(meta, spec);

export const allowPrivilegeEscalation1_8: CheckFn = (_meta, spec) => {
  const bad = containers(spec)
    .filter((c) => securityContext(c)?.allowPrivilegeEscalation !== false)
    .map(containerName);
  return bad.length
    ? {
        reason: 'allowPrivilegeEscalation != false',
        detail: `${containerList(bad)} must set securityContext.allowPrivilegeEscalation=false`,
      }
    : undefined;
};
export const allowPrivilegeEscalation1_25 = notOnWindows(allowPrivilegeEscalation1_8);

export const capabilitiesRestricted1_22: CheckFn = (_meta, spec) => {
  const missingDropAll: string[] = [];
  const adding: string[] = [];
  const forbidden: string[] = [];
  for (const c of containers(spec)) {
    const caps = obj(securityContext(c)?.capabilities);
    if (!caps) {
      missingDropAll.push(containerName(c));
      continue;
    }
    if (!list(caps.drop).includes('ALL')) missingDropAll.push(containerName(c));
    const extra = list(caps.add)
      .map(str)
      .filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (extra.length) {
      adding.push(containerName(c));
      forbidden.push(...extra);
    }
  }
  const details: string[] = [];
  if (missingDropAll.length) details.push(`${containerList(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  if (adding.length)
    details.push(`${containerList(adding)} must not include ${joinQuote(sortedSet(forbidden))} in securityContext.capabilities.add`);
  return details.length ? { reason: 'unrestricted capabilities', detail: details.join('; ') } : undefined;
};
export const capabilitiesRestricted1_25 = notOnWindows(capabilitiesRestricted1_22);

/** Inline volume sources the Restricted level allows. */
const ALLOWED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
/** The others, in the order upstream names the first one a volume has. */
const RESTRICTED_VOLUMES = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'nfs',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
];
const has = (v: Json, key: string) => v[key] !== undefined && v[key] !== null;

export const restrictedVolumes: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const types: string[] = [];
  for (const v of list(spec.volumes).map(obj)) {
    if (!v || ALLOWED_VOLUMES.some((k) => has(v, k))) continue;
    bad.push(str(v.name));
    types.push(RESTRICTED_VOLUMES.find((k) => has(v, k)) ?? 'unknown');
  }
  if (!bad.length) return undefined;
  const set = sortedSet(types);
  return {
    reason: 'restricted volume types',
    detail:
      `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)} ${pluralize('uses', 'use', bad.length)} ` +
      `${pluralize('restricted volume type', 'restricted volume types', set.length)} ${joinQuote(set)}`,
  };
};

export const runAsNonRoot: CheckFn = (_meta, spec) => {
  const setters: string[] = [];
  const podValue = podSecurityContext(spec)?.runAsNonRoot;
  if (podValue === false) setters.push('pod');
  const podTrue = podValue === true;
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containers(spec)) {
    const v = securityContext(c)?.runAsNonRoot;
    if (v === false) explicit.push(containerName(c));
    else if (v !== true && !podTrue) implicit.push(containerName(c));
  }
  if (explicit.length) setters.push(containerList(explicit));
  if (setters.length)
    return { reason: 'runAsNonRoot != true', detail: `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false` };
  if (implicit.length)
    return { reason: 'runAsNonRoot != true', detail: `pod or ${containerList(implicit)} must set securityContext.runAsNonRoot=true` };
  return undefined;
};

export const runAsUser: CheckFn = (_meta, spec) => {
  const setters: string[] = [];
  if (podSecurityContext(spec)?.runAsUser === 0) setters.push('pod');
  const bad = containers(spec)
    .filter((c) => securityContext(c)?.runAsUser === 0)
    .map(containerName);
  if (bad.length) setters.push(containerList(bad));
  return setters.length ? { reason: 'runAsUser=0', detail: `${setters.join(' and ')} must not set runAsUser=0` } : undefined;
};

export const seccompProfileRestricted1_19: CheckFn = (_meta, spec) => {
  const setters: string[] = [];
  const values: string[] = [];
  let podSet = false;
  const podProfile = obj(podSecurityContext(spec)?.seccompProfile);
  if (podProfile) {
    if (validSeccomp(podProfile.type)) podSet = true;
    else {
      setters.push('pod');
      values.push(str(podProfile.type));
    }
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containers(spec)) {
    const profile = obj(securityContext(c)?.seccompProfile);
    if (profile) {
      if (!validSeccomp(profile.type)) {
        explicit.push(containerName(c));
        values.push(str(profile.type));
      }
    } else if (!podSet) implicit.push(containerName(c));
  }
  if (explicit.length) setters.push(containerList(explicit));
  if (setters.length)
    return {
      reason: 'seccompProfile',
      detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`,
    };
  if (implicit.length)
    return {
      reason: 'seccompProfile',
      detail: `pod or ${containerList(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    };
  return undefined;
};
export const seccompProfileRestricted1_25 = notOnWindows(seccompProfileRestricted1_19);
