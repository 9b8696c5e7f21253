// What `kubectl get pods` prints in READY, STATUS and RESTARTS: the same reading of pod status as
// kube-apiserver's printer (init progress, waiting/terminated reasons, Terminating, sidecars).
import type { ContainerStatus, Pod } from 'kubernetes-types/core/v1.js';
import { humanDuration } from './duration.js';

export interface PodSummary {
  ready: string;
  status: string;
  restarts: string;
}

function exitReason(prefix: string, t: { reason?: string; signal?: number; exitCode: number }): string {
  if (t.reason) return prefix + t.reason;
  return t.signal ? `${prefix}Signal:${t.signal}` : `${prefix}ExitCode:${t.exitCode}`;
}

export function summarizePod(pod: Pod, now: Date): PodSummary {
  const spec = pod.spec;
  const status = pod.status ?? {};
  const sidecars = new Set((spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  const total = (spec?.containers?.length ?? 0) + sidecars.size;
  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  const noteRestart = (c: ContainerStatus) => {
    restarts += c.restartCount ?? 0;
    const finished = c.lastState?.terminated?.finishedAt;
    if (finished) lastRestart = Math.max(lastRestart, Date.parse(finished));
  };
  let reason = status.reason || status.phase || '';
  const conditions = status.conditions ?? [];
  const scheduled = conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'SchedulingGated') reason = 'SchedulingGated';

  let initializing = false;
  let sidecarRestarts = 0;
  const initStatuses = status.initContainerStatuses ?? [];
  for (const [i, c] of initStatuses.entries()) {
    noteRestart(c);
    if (sidecars.has(c.name)) {
      sidecarRestarts += c.restartCount ?? 0;
      if (c.started) {
        if (c.ready) ready++;
        continue;
      }
    }
    const { terminated, waiting } = c.state ?? {};
    if (terminated && terminated.exitCode === 0) continue;
    initializing = true;
    if (terminated) reason = exitReason('Init:', terminated);
    else if (waiting?.reason && waiting.reason !== 'PodInitializing') reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${spec?.initContainers?.length ?? initStatuses.length}`;
    break;
  }
  const initialized = conditions.some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    let running = false;
    for (const c of [...(status.containerStatuses ?? [])].reverse()) {
      noteRestart(c);
      const { terminated, waiting, running: isRunning } = c.state ?? {};
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated) reason = exitReason('', terminated);
      else if (c.ready && isRunning) {
        running = true;
        ready++;
      }
    }
    if (reason === 'Completed' && running)
      reason = conditions.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
  }
  const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
  if (pod.metadata?.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp && !terminal) reason = 'Terminating';

  const restartText = lastRestart > 0 ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartText };
}
