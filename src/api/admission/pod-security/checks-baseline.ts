// The Baseline level's checks, as upstream's pod-security-admission defines them (same reasons and
// details, so a message reads the same as on any Kubernetes cluster). Each returns undefined when
// the pod passes.
import {
  annotations,
  at,
  containerName,
  containers,
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

export interface Violation {
  reason: string;
  /** Empty when there is nothing more to say. */
  detail: string;
}
export type CheckFn = (meta: Json, spec: Json) => Violation | undefined;

const containerList = (names: string[]) => `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;

const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

export const appArmorProfile: CheckFn = (meta, spec) => {
  const allowedType = (t: string) => t === 'RuntimeDefault' || t === 'Localhost';
  const setters: string[] = [];
  const badTypes: string[] = [];
  const podProfile = at(spec, 'securityContext', 'appArmorProfile');
  if (podProfile && !allowedType(str(podProfile.type))) {
    setters.push('pod');
    badTypes.push(str(podProfile.type));
  }
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const profile = obj(securityContext(c)?.appArmorProfile);
    if (profile && !allowedType(str(profile.type))) {
      bad.push(containerName(c));
      badTypes.push(str(profile.type));
    }
  }
  if (bad.length) setters.push(containerList(bad));
  const values = sortedSet(badTypes);
  const badAnnotations = Object.entries(annotations(meta))
    .filter(([k, v]) => k.startsWith(APPARMOR_ANNOTATION) && !(v === '' || v === 'runtime/default' || v.startsWith('localhost/')))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .sort();
  if (badAnnotations.length) setters.push(pluralize('annotation', 'annotations', badAnnotations.length));
  if (!setters.length) return undefined;
  const all = [...values, ...badAnnotations];
  return {
    reason: pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', all.length),
    detail: `${setters.join(' and ')} must not set AppArmor profile type to ${joinQuote(all)}`,
  };
};

const DEFAULT_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

export const capabilitiesBaseline: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const extra: string[] = [];
  for (const c of containers(spec)) {
    const added = list(obj(securityContext(c)?.capabilities)?.add).map(str);
    const beyond = added.filter((cap) => !DEFAULT_CAPABILITIES.has(cap));
    if (beyond.length) {
      bad.push(containerName(c));
      extra.push(...beyond);
    }
  }
  if (!bad.length) return undefined;
  return {
    reason: 'non-default capabilities',
    detail: `${containerList(bad)} must not include ${joinQuote(sortedSet(extra))} in securityContext.capabilities.add`,
  };
};

export const hostNamespaces: CheckFn = (_meta, spec) => {
  const shared = ['hostNetwork', 'hostPID', 'hostIPC'].filter((f) => spec[f] === true).sort();
  return shared.length ? { reason: 'host namespaces', detail: shared.join(', ') } : undefined;
};

export const hostPathVolumes: CheckFn = (_meta, spec) => {
  const names = list(spec.volumes)
    .map(obj)
    .filter((v): v is Json => v?.hostPath != null)
    .map((v) => str(v.name));
  return names.length
    ? { reason: 'hostPath volumes', detail: `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)}` }
    : undefined;
};

export const hostPorts: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const ports: string[] = [];
  for (const c of containers(spec)) {
    const used = list(c.ports)
      .map((p) => obj(p)?.hostPort)
      .filter((hp) => typeof hp === 'number' && hp !== 0)
      .map(String);
    if (used.length) {
      bad.push(containerName(c));
      ports.push(...used);
    }
  }
  if (!bad.length) return undefined;
  const set = sortedSet(ports);
  return {
    reason: 'hostPort',
    detail: [containerList(bad), pluralize('uses', 'use', bad.length), pluralize('hostPort', 'hostPorts', set.length), set.join(', ')].join(
      ' ',
    ),
  };
};

export const privileged: CheckFn = (_meta, spec) => {
  const bad = containers(spec)
    .filter((c) => securityContext(c)?.privileged === true)
    .map(containerName);
  return bad.length ? { reason: 'privileged', detail: `${containerList(bad)} must not set securityContext.privileged=true` } : undefined;
};

export const procMount: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const types: string[] = [];
  for (const c of containers(spec)) {
    const pm = securityContext(c)?.procMount;
    if (pm === undefined || pm === null || pm === 'Default') continue;
    bad.push(containerName(c));
    types.push(str(pm));
  }
  if (!bad.length) return undefined;
  return { reason: 'procMount', detail: `${containerList(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}` };
};

function seLinuxOptions(allowedTypes: string[]): CheckFn {
  const allowed = new Set(allowedTypes);
  return (_meta, spec) => {
    const badTypes: string[] = [];
    let setUser = false;
    let setRole = false;
    const valid = (opts: Json) => {
      let ok = true;
      const type = str(opts.type);
      if (!allowed.has(type)) {
        ok = false;
        badTypes.push(type);
      }
      if (str(opts.user)) {
        ok = false;
        setUser = true;
      }
      if (str(opts.role)) {
        ok = false;
        setRole = true;
      }
      return ok;
    };
    const setters: string[] = [];
    const podOpts = at(spec, 'securityContext', 'seLinuxOptions');
    if (podOpts && !valid(podOpts)) setters.push('pod');
    const bad = containers(spec)
      .filter((c) => {
        const opts = obj(securityContext(c)?.seLinuxOptions);
        return opts !== undefined && !valid(opts);
      })
      .map(containerName);
    if (bad.length) setters.push(containerList(bad));
    if (!setters.length) return undefined;
    const data: string[] = [];
    const types = sortedSet(badTypes);
    if (types.length) data.push(`${pluralize('type', 'types', types.length)} ${joinQuote(types)}`);
    if (setUser) data.push('user may not be set');
    if (setRole) data.push('role may not be set');
    return {
      reason: 'seLinuxOptions',
      detail: `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`,
    };
  };
}
const SELINUX_TYPES = ['', 'container_t', 'container_init_t', 'container_kvm_t'];
export const seLinuxOptions1_0 = seLinuxOptions(SELINUX_TYPES);
export const seLinuxOptions1_31 = seLinuxOptions([...SELINUX_TYPES, 'container_engine_t']);

const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION = 'container.seccomp.security.alpha.kubernetes.io/';

/** Before 1.19 seccomp was set by annotations. */
export const seccompProfileBaseline1_0: CheckFn = (meta, spec) => {
  const ok = (v: string) => v === 'runtime/default' || v === 'docker/default' || v.startsWith('localhost/');
  const notes = annotations(meta);
  const forbidden: string[] = [];
  const podValue = notes[SECCOMP_POD_ANNOTATION];
  if (podValue !== undefined && !ok(podValue)) forbidden.push(`${SECCOMP_POD_ANNOTATION}=${JSON.stringify(podValue)}`);
  for (const c of containers(spec)) {
    const key = SECCOMP_CONTAINER_ANNOTATION + containerName(c);
    const v = notes[key];
    if (v !== undefined && !ok(v)) forbidden.push(`${key}=${JSON.stringify(v)}`);
  }
  const set = sortedSet(forbidden);
  return set.length
    ? { reason: 'seccompProfile', detail: `forbidden ${pluralize('annotation', 'annotations', set.length)} ${set.join(', ')}` }
    : undefined;
};

export const validSeccomp = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';

export const seccompProfileBaseline1_19: CheckFn = (_meta, spec) => {
  const setters: string[] = [];
  const values: string[] = [];
  const podProfile = obj(podSecurityContext(spec)?.seccompProfile);
  if (podProfile && !validSeccomp(podProfile.type)) {
    setters.push('pod');
    values.push(str(podProfile.type));
  }
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const profile = obj(securityContext(c)?.seccompProfile);
    if (profile && !validSeccomp(profile.type)) {
      bad.push(containerName(c));
      values.push(str(profile.type));
    }
  }
  if (bad.length) setters.push(containerList(bad));
  if (!setters.length) return undefined;
  return {
    reason: 'seccompProfile',
    detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`,
  };
};

function sysctls(allowedNames: string[]): CheckFn {
  const allowed = new Set(allowedNames);
  return (_meta, spec) => {
    const forbidden = list(podSecurityContext(spec)?.sysctls)
      .map((s) => str(obj(s)?.name))
      .filter((name) => !allowed.has(name));
    return forbidden.length ? { reason: 'forbidden sysctls', detail: forbidden.join(', ') } : undefined;
  };
}
const SYSCTLS_1_0 = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
];
const SYSCTLS_1_27 = [...SYSCTLS_1_0, 'net.ipv4.ip_local_reserved_ports'];
const SYSCTLS_1_29 = [
  ...SYSCTLS_1_27,
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
];
export const sysctls1_0 = sysctls(SYSCTLS_1_0);
export const sysctls1_27 = sysctls(SYSCTLS_1_27);
export const sysctls1_29 = sysctls(SYSCTLS_1_29);
export const sysctls1_32 = sysctls([...SYSCTLS_1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']);

export const windowsHostProcess: CheckFn = (_meta, spec) => {
  const hostProcess = (sc: Json | undefined) => obj(sc?.windowsOptions)?.hostProcess === true;
  const setters: string[] = [];
  if (hostProcess(podSecurityContext(spec))) setters.push('pod');
  const bad = containers(spec)
    .filter((c) => hostProcess(securityContext(c)))
    .map(containerName);
  if (bad.length) setters.push(containerList(bad));
  return setters.length
    ? { reason: 'hostProcess', detail: `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true` }
    : undefined;
};
