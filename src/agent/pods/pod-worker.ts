// One pod's life on the node. Each sync looks at the pod (as the API has it) and at containerd (as
// the runtime view remembers it), and takes the next steps: volumes, the sandbox, init containers one
// at a time, the containers (each step by the container runner: start, restart with backoff, liveness
// kills), and the status. A pod marked for deletion (or gone) is stopped within its grace period
// (preStop first), its containers, sandbox and volumes removed, and then its API object. Syncs of
// one pod never overlap.
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Container } from 'kubernetes-types/core/v1.js';
import { ApiError, ignoreNotFound } from '../../k8s/errors.js';
import type { EventType } from '../../client/event-recorder.js';
import type { Writable } from '../../client/resources.js';
import type { CriMessage } from '../../cri/client.js';
import { log } from '../../log.js';
import { sandboxConfig } from './cri-config.js';
import type { PodView } from './downward.js';
import { podKey, type P } from './labels.js';
import { isSidecar, podStatus, type ContainerFacts } from './pod-status.js';
import { ContainerProbes } from './container-probes.js';
import { ContainerRunner, isExited, type SyncFacts } from './container-runner.js';
import { writeEtcHosts } from './etc-hosts.js';
import type { ContainerInfo, PodRuntime } from './runtime-view.js';
import type { PodWorkerDeps } from './pod-worker-deps.js';
import { VolumeError } from './volumes.js';

const RETRY_MS = 2000;
/** How often a status no server took is offered again. */
const STATUS_RETRY_MS = 10_000;
/** Grace period for containers of pods that vanished from the API (force deleted). */
const VANISHED_GRACE_SECONDS = 2;

export class PodWorker {
  private pod?: P;
  private syncing = false;
  private again = false;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private done = false;
  private readonly probes: ContainerProbes;
  private readonly runner: ContainerRunner;

  constructor(
    readonly uid: string,
    private readonly deps: PodWorkerDeps,
  ) {
    this.probes = new ContainerProbes(deps.cri, {
      failed: (w, message) => this.event('Warning', 'Unhealthy', `${w.kind[0]!.toUpperCase()}${w.kind.slice(1)} probe failed: ${message}`),
      changed: () => this.poke(),
    });
    this.runner = new ContainerRunner({
      uid,
      deps,
      probes: this.probes,
      pod: () => this.pod,
      event: (type, reason, message) => this.event(type, reason, message),
      retryIn: (ms) => this.retryIn(ms),
      poke: () => this.poke(),
      sandboxConfig: (pod, attempt) => this.sandboxConfig(pod, attempt),
      hostsFile: () => this.hostsFile(),
      gracePeriod: () => this.gracePeriod(),
    });
  }

  /** The pod as the API has it now; undefined once it is gone from the API. */
  update(pod: P | undefined): void {
    this.pod = pod;
    this.poke();
  }

  poke(): void {
    if (this.done) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    void this.loop();
  }

  /** Stops timers and probes without touching containers (the agent is shutting down). */
  stop(): void {
    this.done = true;
    clearTimeout(this.timer);
    this.probes.stopAll();
  }

  private async loop(): Promise<void> {
    this.syncing = true;
    do {
      this.again = false;
      try {
        await this.sync();
      } catch (err) {
        log.warn({ pod: this.pod ? podKey(this.pod) : this.uid, err: (err as Error).message }, 'pod sync failed; retrying');
        this.retryIn(RETRY_MS);
      }
    } while (this.again && !this.done);
    this.syncing = false;
  }

  private retryIn(ms: number): void {
    const at = Date.now() + ms;
    if (at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.poke();
    }, ms);
  }

  private event(type: EventType, reason: string, message: string): void {
    if (this.pod) this.deps.recorder.event({ apiVersion: 'v1', kind: 'Pod', ...this.pod }, type, reason, message);
  }

  private async sync(): Promise<void> {
    const pod = this.pod;
    const rt = await this.deps.runtime.pod(this.uid);
    if (!pod || pod.metadata?.deletionTimestamp) return this.terminate(pod, rt);
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return this.finishRun(pod, rt);

    const hostIPs = this.deps.hostIPs();
    // Volumes (API reads) and the sandbox (containerd's work) do not wait for each other; the containers wait for both.
    const volumes = this.deps.volumes.setUp({ pod, podIPs: [], hostIPs }).then(
      (paths) => ({ paths }),
      (err: Error) => ({ err }),
    );
    let sandbox = rt.sandboxes[0];
    if (!sandbox?.ready) {
      if (!(await this.createSandbox(pod, rt))) {
        await volumes; // settled before the next sync sets them up again
        return;
      }
      Object.assign(rt, await this.deps.runtime.pod(this.uid));
      sandbox = rt.sandboxes[0]!;
    }
    const mounted = await volumes;
    if ('err' in mounted) {
      if (!(mounted.err instanceof VolumeError)) throw mounted.err;
      this.event('Warning', 'FailedMount', mounted.err.message);
      await this.writeStatus(pod, rt, { podIPs: [], hostIPs, sandboxReady: false });
      return this.retryIn(5000);
    }
    const volumePaths = mounted.paths;
    const podIPs = pod.spec?.hostNetwork ? hostIPs : [await this.deps.runtime.sandboxIP(sandbox.id)].filter(Boolean);
    const view: PodView = { pod, podIPs, hostIPs };
    // /etc/hosts is the host's with hostNetwork.
    if (!pod.spec?.hostNetwork && podIPs[0]) writeEtcHosts(this.hostsFile(), pod, podIPs[0]);
    const inSandbox = rt.containers.filter((c) => c.sandboxId === sandbox.id);
    const latest = (name: string) => inSandbox.find((c) => c.name === name);
    const policy = pod.spec?.restartPolicy ?? 'Always';

    const facts: SyncFacts = { view, rt, sandboxId: sandbox.id, volumePaths };
    const keep = (spec: Writable<Container>, restart: (c: ContainerInfo) => boolean) =>
      this.runner.keep(facts, spec, latest(spec.name), restart);

    // Init containers one at a time; a sidecar (restartPolicy Always) lets the next one go once
    // started, and keeps running beside the containers.
    let initDone = true;
    for (const ic of pod.spec?.initContainers ?? []) {
      const c = latest(ic.name);
      if (isSidecar(ic)) {
        await keep(ic, () => true);
        if (c?.state === 'CONTAINER_RUNNING' && this.probes.isStarted(ic, c)) continue;
      } else {
        if (c && isExited(c) && c.exitCode === 0) continue;
        await keep(ic, () => policy !== 'Never');
      }
      initDone = false;
      break;
    }
    if (initDone) {
      for (const sidecar of (pod.spec?.initContainers ?? []).filter(isSidecar)) await keep(sidecar, () => true);
      for (const spec of pod.spec?.containers ?? [])
        await keep(spec, (c) => policy === 'Always' || (policy === 'OnFailure' && c.exitCode !== 0));
    }
    await this.writeStatus(pod, await this.deps.runtime.pod(this.uid), { podIPs, hostIPs, sandboxReady: true, sandboxId: sandbox.id });
  }

  /** A finished pod keeps its exited containers (for logs) but gives back its sandbox and address. */
  private async finishRun(pod: P, rt: PodRuntime): Promise<void> {
    this.probes.stopAll();
    const running = rt.containers.some((c) => c.state === 'CONTAINER_RUNNING');
    await this.runner.killAll(rt, this.gracePeriod(), 'pod has finished');
    for (const s of rt.sandboxes.filter((s) => s.ready)) await this.deps.runtime.stopPodSandbox(s.id);
    // Sidecars stopped just now: their final state belongs in the status too.
    if (running)
      await this.writeStatus(pod, await this.deps.runtime.pod(this.uid), {
        podIPs: (pod.status?.podIPs ?? []).map((p) => p.ip!),
        hostIPs: this.deps.hostIPs(),
        sandboxReady: false,
        sandboxId: rt.sandboxes[0]?.id,
      });
  }

  private gracePeriod(): number {
    const pod = this.pod;
    if (!pod) return VANISHED_GRACE_SECONDS;
    return pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  private async terminate(pod: P | undefined, rt: PodRuntime): Promise<void> {
    this.probes.stopAll();
    const grace = this.gracePeriod();
    await this.runner.killAll(rt, grace, 'pod is being deleted');
    for (const s of rt.sandboxes) await this.deps.runtime.stopPodSandbox(s.id);
    for (const c of rt.containers) await this.deps.runtime.removeContainer(c.id);
    for (const s of rt.sandboxes) await this.deps.runtime.removePodSandbox(s.id);
    await this.deps.volumes.tearDown(this.uid);
    if (pod) fs.rmSync(this.logDir(pod), { recursive: true, force: true });
    this.deps.backoff.forget(`${this.uid}/`);
    if (pod)
      await this.deps.pods
        .delete(pod.metadata!.namespace, pod.metadata!.name!, { gracePeriodSeconds: 0, preconditions: { uid: this.uid } })
        .catch(ignoreNotFound);
    if (this.pod && !this.pod.metadata?.deletionTimestamp) return; // it came back (cannot, uids are unique; defensive)
    this.done = true;
    clearTimeout(this.timer);
    this.deps.finished(this.uid);
  }

  private logDir(pod: P): string {
    return path.join(this.deps.logsDir, `${pod.metadata!.namespace}_${pod.metadata!.name}_${this.uid}`);
  }

  private sandboxConfig(pod: P, attempt: number, creating = false): CriMessage {
    const dns = this.deps.podDns(pod);
    if (creating) for (const problem of dns.problems) this.event('Warning', 'DNSConfigForming', problem);
    return sandboxConfig(pod, attempt, this.logDir(pod), dns.config);
  }

  /** Answers whether the sandbox now runs. */
  private async createSandbox(pod: P, rt: PodRuntime): Promise<boolean> {
    const previous = rt.sandboxes[0];
    if (previous) {
      // The sandbox died (its network or pause process is gone): its containers go with it.
      this.event('Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
      await Promise.all(
        rt.containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => this.runner.kill(c, this.gracePeriod(), 'sandbox changed')),
      );
      await this.deps.runtime.stopPodSandbox(previous.id);
    }
    fs.mkdirSync(this.logDir(pod), { recursive: true });
    try {
      await this.deps.runtime.runPodSandbox(this.sandboxConfig(pod, previous ? previous.attempt + 1 : 0, true));
      return true;
    } catch (err) {
      this.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
      await this.writeStatus(pod, rt, { podIPs: [], hostIPs: this.deps.hostIPs(), sandboxReady: false });
      this.retryIn(5000);
      return false;
    }
  }

  private hostsFile(): string {
    return path.join(this.deps.volumes.podDir(this.uid), 'etc-hosts');
  }

  private containerFacts(spec: Writable<Container>, rt: PodRuntime, sandboxId: string | undefined): ContainerFacts {
    const all = rt.containers.filter((c) => c.name === spec.name);
    const latest = all.find((c) => c.sandboxId === sandboxId) ?? all[0];
    const previous = all.find((c) => c !== latest && isExited(c));
    const running = latest?.state === 'CONTAINER_RUNNING';
    const started = !!latest && this.probes.isStarted(spec, latest);
    const ready = !!latest && this.probes.isReady(spec, latest);
    // containerd's word wins once the container runs again or has finished for good.
    const waiting = running ? undefined : this.runner.waiting(spec.name);
    return { name: spec.name, image: spec.image ?? '', latest, previous, waiting, ready, started };
  }

  private async writeStatus(
    pod: P,
    rt: PodRuntime,
    o: { podIPs: string[]; hostIPs: string[]; sandboxReady: boolean; sandboxId?: string },
  ): Promise<void> {
    const status = podStatus(pod, {
      podIPs: o.podIPs,
      hostIPs: o.hostIPs,
      sandboxReady: o.sandboxReady,
      init: (pod.spec?.initContainers ?? []).map((c) => this.containerFacts(c, rt, o.sandboxId)),
      containers: (pod.spec?.containers ?? []).map((c) => this.containerFacts(c, rt, o.sandboxId)),
    });
    if (isDeepStrictEqual(JSON.parse(JSON.stringify(status)), pod.status)) return;
    const written = await this.deps.pods.patch(pod.metadata!.namespace, pod.metadata!.name!, { status }, 'merge', 'status').catch((err) => {
      // No server answered (an agent cut off keeps its pods running): the status is written later.
      if (!(err instanceof ApiError)) this.retryIn(STATUS_RETRY_MS);
      else ignoreNotFound(err);
      return undefined;
    });
    if (written && written.metadata?.uid === this.uid && this.pod?.metadata?.resourceVersion === pod.metadata?.resourceVersion)
      this.pod = written;
  }
}
