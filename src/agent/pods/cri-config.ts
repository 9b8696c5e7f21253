// Pod and container specs turned into CRI sandbox and container configs: names and labels, the log
// layout (<logs>/<ns>_<name>_<uid>/<container>/<restart>.log), DNS (formed by pod-dns.ts), host
// ports, namespaces, security context, resources as cgroup settings, and mounts.
import fs from 'node:fs';
import type { Container, PodSpec, SecurityContext } from 'kubernetes-types/core/v1.js';
import { milliValue, parseQuantity } from '../../k8s/quantity.js';
import { criEnum, type CriMessage } from '../../cri/client.js';
import type { Writable } from '../../client/resources.js';
import { CONTAINER_NAME, podLabels, RESTART_COUNT, TERMINATION_MESSAGE_FILE, type P } from './labels.js';
import { expand } from './env.js';
import { ConfigError } from './sources.js';
import { volumeKind, WRITTEN_KINDS } from './volumes.js';
import type { DnsConfig } from './pod-dns.js';

// What the kubelet masks and makes read-only in unprivileged containers (containerd applies only what it is given).
const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const CPU_PERIOD = 100_000;

export const allContainers = (pod: P): Writable<Container>[] => [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];

const specOf = (pod: P): Writable<PodSpec> => pod.spec ?? { containers: [] };

const sandboxNamespaces = (pod: P) => {
  const spec = specOf(pod);
  const mode = (name: string) => criEnum('NamespaceMode', name);
  return {
    network: mode(spec.hostNetwork ? 'NODE' : 'POD'),
    pid: mode(spec.hostPID ? 'NODE' : spec.shareProcessNamespace ? 'POD' : 'CONTAINER'),
    ipc: mode(spec.hostIPC ? 'NODE' : 'POD'),
  };
};

/** `dns`: the pod's resolv.conf (pod-dns.ts), hostNetwork pods included, as the kubelet sends it. */
export function sandboxConfig(pod: P, attempt: number, logDirectory: string, dns: DnsConfig): CriMessage {
  const spec = specOf(pod);
  const meta = pod.metadata!;
  const hostNetwork = !!spec.hostNetwork;
  const portMappings = allContainers(pod).flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => p.hostPort)
      .map((p) => ({
        protocol: criEnum('Protocol', p.protocol ?? 'TCP'),
        containerPort: p.containerPort,
        hostPort: p.hostPort,
        hostIp: p.hostIP ?? '',
      })),
  );
  const psc = spec.securityContext ?? {};
  return {
    metadata: { name: meta.name, uid: meta.uid, namespace: meta.namespace, attempt },
    hostname: hostNetwork ? '' : (spec.hostname ?? meta.name!).slice(0, 63),
    logDirectory,
    dnsConfig: dns,
    portMappings,
    labels: podLabels(pod),
    annotations: meta.annotations ?? {},
    linux: {
      sysctls: Object.fromEntries((psc.sysctls ?? []).map((s) => [s.name, s.value])),
      securityContext: {
        namespaceOptions: sandboxNamespaces(pod),
        // containerd refuses privileged containers in an unprivileged sandbox.
        privileged: allContainers(pod).some((c) => c.securityContext?.privileged),
        runAsUser: psc.runAsUser !== undefined ? { value: psc.runAsUser } : undefined,
        runAsGroup: psc.runAsGroup !== undefined ? { value: psc.runAsGroup } : undefined,
        supplementalGroups: psc.supplementalGroups ?? [],
      },
    },
  };
}

/** cgroup settings from requests and limits, as the kubelet computes them. */
function linuxResources(container: Writable<Container>, qosClass: string | undefined, nodeMemory: number): CriMessage {
  const requests = container.resources?.requests ?? {};
  const limits = container.resources?.limits ?? {};
  const cpuRequest =
    requests.cpu !== undefined ? milliValue(requests.cpu as string) : limits.cpu !== undefined ? milliValue(limits.cpu as string) : 0;
  const memoryRequest = requests.memory !== undefined ? parseQuantity(requests.memory as string) : 0;
  const out: CriMessage = { cpuShares: cpuRequest ? Math.max(2, Math.floor((cpuRequest * 1024) / 1000)) : 2 };
  if (limits.cpu !== undefined)
    Object.assign(out, {
      cpuPeriod: CPU_PERIOD,
      cpuQuota: Math.max(1000, Math.floor((milliValue(limits.cpu as string) * CPU_PERIOD) / 1000)),
    });
  if (limits.memory !== undefined) out.memoryLimitInBytes = Math.floor(parseQuantity(limits.memory as string));
  // OOM score: Guaranteed pods last, BestEffort first, Burstable by their share of memory.
  out.oomScoreAdj =
    qosClass === 'Guaranteed'
      ? -997
      : qosClass === 'BestEffort'
        ? 1000
        : Math.min(999, Math.max(2, 1000 - Math.floor((1000 * memoryRequest) / (nodeMemory || 1))));
  return out;
}

function securityContext(pod: P, container: Writable<Container>): CriMessage {
  const psc = pod.spec?.securityContext ?? {};
  const sc: Writable<SecurityContext> = container.securityContext ?? {};
  const privileged = !!sc.privileged;
  const runAsUser = sc.runAsUser ?? psc.runAsUser;
  const runAsGroup = sc.runAsGroup ?? psc.runAsGroup;
  return {
    privileged,
    capabilities: { addCapabilities: sc.capabilities?.add ?? [], dropCapabilities: sc.capabilities?.drop ?? [] },
    namespaceOptions: sandboxNamespaces(pod),
    runAsUser: runAsUser !== undefined ? { value: runAsUser } : undefined,
    runAsGroup: runAsGroup !== undefined ? { value: runAsGroup } : undefined,
    supplementalGroups: psc.supplementalGroups ?? [],
    readonlyRootfs: !!sc.readOnlyRootFilesystem,
    noNewPrivs: sc.allowPrivilegeEscalation === false,
    maskedPaths: privileged ? [] : MASKED_PATHS,
    readonlyPaths: privileged ? [] : READONLY_PATHS,
  };
}

export interface ContainerInputs {
  env: Map<string, string>;
  volumePaths: Map<string, string>;
  restartCount: number;
  /** Host file mounted at terminationMessagePath. */
  terminationMessageFile: string;
  /** /etc/hosts for the pod (absent with hostNetwork). */
  hostsFile?: string;
  nodeMemory: number;
}

export function containerConfig(pod: P, container: Writable<Container>, inputs: ContainerInputs): CriMessage {
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  const mounts: CriMessage[] = (container.volumeMounts ?? []).map((m) => {
    const volume = volumes.get(m.name);
    const base = inputs.volumePaths.get(m.name);
    if (!volume || !base) throw new ConfigError(`volumeMount ${m.name} names no volume of the pod`);
    const sub = m.subPathExpr ? expand(m.subPathExpr, inputs.env) : m.subPath;
    let hostPath = base;
    if (sub) {
      hostPath = `${base}/${sub}`;
      if (!fs.existsSync(hostPath)) fs.mkdirSync(hostPath, { recursive: true, mode: 0o755 });
    }
    const propagation =
      m.mountPropagation === 'Bidirectional'
        ? 'PROPAGATION_BIDIRECTIONAL'
        : m.mountPropagation === 'HostToContainer'
          ? 'PROPAGATION_HOST_TO_CONTAINER'
          : 'PROPAGATION_PRIVATE';
    return {
      containerPath: m.mountPath,
      hostPath,
      readonly: !!m.readOnly || WRITTEN_KINDS.includes(volumeKind(volume)),
      propagation: criEnum('MountPropagation', propagation),
    };
  });
  const path = container.terminationMessagePath ?? '/dev/termination-log';
  if (!mounts.some((m) => m.containerPath === path)) mounts.push({ containerPath: path, hostPath: inputs.terminationMessageFile });
  if (inputs.hostsFile && !mounts.some((m) => m.containerPath === '/etc/hosts'))
    mounts.push({ containerPath: '/etc/hosts', hostPath: inputs.hostsFile });
  return {
    metadata: { name: container.name, attempt: inputs.restartCount },
    image: { image: container.image },
    command: (container.command ?? []).map((c) => expand(c, inputs.env)),
    args: (container.args ?? []).map((a) => expand(a, inputs.env)),
    workingDir: container.workingDir ?? '',
    envs: [...inputs.env].map(([key, value]) => ({ key, value })),
    mounts,
    labels: { ...podLabels(pod), [CONTAINER_NAME]: container.name },
    annotations: { [RESTART_COUNT]: String(inputs.restartCount), [TERMINATION_MESSAGE_FILE]: inputs.terminationMessageFile },
    logPath: `${container.name}/${inputs.restartCount}.log`,
    stdin: !!container.stdin,
    stdinOnce: !!container.stdinOnce,
    tty: !!container.tty,
    linux: {
      resources: linuxResources(container, pod.status?.qosClass, inputs.nodeMemory),
      securityContext: securityContext(pod, container),
    },
  };
}
