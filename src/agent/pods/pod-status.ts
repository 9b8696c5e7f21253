// A pod's status from what the agent knows: containers in containerd, why others are waiting, probe
// results. Phase and conditions follow the kubelet's rules (a container waiting to restart after a
// failure counts as stopped, not as never started).
import type { Container, ContainerState as K8sState, ContainerStatus, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import fs from 'node:fs';
import { nowTimestamp } from '../../k8s/time.js';
import type { Writable } from '../../client/resources.js';
import type { P } from './labels.js';
import type { ContainerInfo } from './runtime-view.js';

export interface ContainerFacts {
  name: string;
  image: string;
  /** Newest instance, and the one before it (for lastState). */
  latest?: ContainerInfo;
  previous?: ContainerInfo;
  /** Why it is not running, when the agent knows better than containerd (e.g. CrashLoopBackOff). */
  waiting?: { reason: string; message?: string };
  ready: boolean;
  started: boolean;
}

export interface PodFacts {
  podIPs: string[];
  hostIPs: string[];
  sandboxReady: boolean;
  init: ContainerFacts[];
  containers: ContainerFacts[];
}

const MAX_MESSAGE = 4096;

function terminationMessage(c: ContainerInfo): string | undefined {
  if (!c.terminationMessageFile) return c.message || undefined;
  try {
    const text = fs.readFileSync(c.terminationMessageFile).subarray(0, MAX_MESSAGE).toString();
    return text || c.message || undefined;
  } catch {
    return c.message || undefined;
  }
}

function terminated(c: ContainerInfo): Writable<K8sState> {
  return {
    terminated: {
      exitCode: c.exitCode,
      reason: c.reason || (c.exitCode === 0 ? 'Completed' : 'Error'),
      message: terminationMessage(c),
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      containerID: `containerd://${c.id}`,
    },
  };
}

function containerStatus(f: ContainerFacts, defaultWaiting: string): Writable<ContainerStatus> {
  const c = f.latest;
  let state: Writable<K8sState>;
  let lastState: Writable<K8sState> = f.previous?.state === 'CONTAINER_EXITED' ? terminated(f.previous) : {};
  if (c?.state === 'CONTAINER_RUNNING') state = { running: { startedAt: c.startedAt } };
  else if (c?.state === 'CONTAINER_EXITED' && !f.waiting) state = terminated(c);
  else {
    if (c?.state === 'CONTAINER_EXITED') lastState = terminated(c);
    state = { waiting: { reason: f.waiting?.reason ?? defaultWaiting, ...(f.waiting?.message ? { message: f.waiting.message } : {}) } };
  }
  return {
    name: f.name,
    image: f.image,
    imageID: c?.imageRef ?? '',
    ...(c ? { containerID: `containerd://${c.id}` } : {}),
    ready: f.ready,
    started: f.started,
    restartCount: c?.restartCount ?? 0,
    state,
    lastState,
  };
}

/** An init container with restartPolicy Always: a sidecar. */
export const isSidecar = (c: Writable<Container>) => c.restartPolicy === 'Always';

const sidecarNamed = (pod: P, name: string) => (pod.spec?.initContainers ?? []).some((c) => c.name === name && isSidecar(c));

/** Whether an init container has done its part: exited 0, or for a sidecar, started. */
function initComplete(pod: P, s: Writable<ContainerStatus>): boolean {
  return sidecarNamed(pod, s.name) ? !!s.started : s.state?.terminated?.exitCode === 0;
}

/** Pending, Running, Succeeded or Failed, as the kubelet's getPhase (sidecars do not count once started). */
function phaseOf(pod: P, init: Writable<ContainerStatus>[], containers: Writable<ContainerStatus>[]): string {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  const initDone = init.every((s) => initComplete(pod, s));
  if (!initDone) {
    const failed = init.some((s) => !initComplete(pod, s) && s.state?.terminated && s.state.terminated.exitCode !== 0);
    return failed && policy === 'Never' ? 'Failed' : 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of containers) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState?.terminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    return policy === 'Never' ? 'Failed' : 'Running';
  }
  return 'Pending';
}

export function podStatus(pod: P, facts: PodFacts): Writable<PodStatus> {
  const old = pod.status ?? {};
  const init = facts.init.map((f) => containerStatus(f, 'PodInitializing'));
  const initDone = init.every((s) => initComplete(pod, s));
  const containers = facts.containers.map((f) => containerStatus(f, initDone ? 'ContainerCreating' : 'PodInitializing'));
  // A finished pod stays finished, whatever its sidecars do while they are stopped.
  const finishedBefore = old.phase === 'Succeeded' || old.phase === 'Failed';
  const phase = finishedBefore ? old.phase! : phaseOf(pod, init, containers);
  const finished = phase === 'Succeeded' || phase === 'Failed';
  const sidecars = init.filter((s) => sidecarNamed(pod, s.name));
  const unready = [...sidecars, ...containers].filter((s) => !s.ready).map((s) => s.name);
  const incomplete = init.filter((s) => !initComplete(pod, s)).map((s) => s.name);

  const now = nowTimestamp();
  const condition = (type: string, ok: boolean, reason?: string, message?: string): Writable<PodCondition> => {
    const before = old.conditions?.find((c) => c.type === type);
    const status = ok ? 'True' : 'False';
    return {
      type,
      status,
      lastTransitionTime: before?.status === status ? before.lastTransitionTime : now,
      ...(ok ? {} : { reason, message }),
    };
  };
  const readyReason = finished ? 'PodCompleted' : 'ContainersNotReady';
  const readyMessage = finished ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  const ours = [
    condition('PodReadyToStartContainers', facts.sandboxReady),
    condition(
      'Initialized',
      finishedBefore ? old.conditions?.find((c) => c.type === 'Initialized')?.status === 'True' : incomplete.length === 0,
      'ContainersNotInitialized',
      `containers with incomplete status: [${incomplete.join(' ')}]`,
    ),
    condition('Ready', unready.length === 0 && !finished, readyReason, readyMessage),
    condition('ContainersReady', unready.length === 0 && !finished, readyReason, readyMessage),
  ];
  const foreign = (old.conditions ?? []).filter((c) => !ours.some((o) => o.type === c.type));
  const status: Writable<PodStatus> = {
    ...old,
    phase,
    conditions: [...ours, ...foreign],
    hostIP: facts.hostIPs[0],
    hostIPs: facts.hostIPs.map((ip) => ({ ip })),
    startTime: old.startTime ?? now,
    containerStatuses: containers,
  };
  if (facts.podIPs.length) Object.assign(status, { podIP: facts.podIPs[0], podIPs: facts.podIPs.map((ip) => ({ ip })) });
  if (init.length) status.initContainerStatuses = init;
  return status;
}
