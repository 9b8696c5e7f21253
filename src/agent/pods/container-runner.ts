// A pod's containers, one step at a time: start one (image, environment, create, start, postStart),
// restart it when its policy says so (with backoff: CrashLoopBackOff), replace one created but never
// started, kill one (preStop first, within the grace period) or all of them, and restart one whose
// liveness or startup probe failed. It remembers why a container waits when containerd cannot say.
import fs from 'node:fs';
import path from 'node:path';
import type { Container } from 'kubernetes-types/core/v1.js';
import type { EventType } from '../../client/event-recorder.js';
import type { Writable } from '../../client/resources.js';
import type { CriMessage } from '../../cri/client.js';
import { containerConfig } from './cri-config.js';
import type { PodView } from './downward.js';
import { containerEnv } from './env.js';
import { runHandler } from './handlers.js';
import type { P } from './labels.js';
import { isSidecar } from './pod-status.js';
import type { ContainerProbes } from './container-probes.js';
import { ensureImage } from './image-puller.js';
import type { PodWorkerDeps } from './pod-worker-deps.js';
import type { ContainerInfo, PodRuntime } from './runtime-view.js';
import { ConfigError } from './sources.js';

/** What the pod worker lends its runner. */
export interface RunnerHost {
  readonly uid: string;
  readonly deps: PodWorkerDeps;
  readonly probes: ContainerProbes;
  pod(): P | undefined;
  event(type: EventType, reason: string, message: string): void;
  retryIn(ms: number): void;
  /** Sync again (after a kill, for the restart). */
  poke(): void;
  sandboxConfig(pod: P, attempt: number): CriMessage;
  hostsFile(): string;
  gracePeriod(): number;
}

/** One sync's facts: the pod, what containerd has of it, its sandbox and its volumes' paths. */
export interface SyncFacts {
  view: PodView;
  rt: PodRuntime;
  sandboxId: string;
  volumePaths: Map<string, string>;
}

export const isExited = (c: ContainerInfo) => c.state === 'CONTAINER_EXITED' || c.state === 'CONTAINER_UNKNOWN';

export class ContainerRunner {
  /** Why a container is not running, by name, when containerd cannot say (backoff, config errors). */
  private readonly waitingFor = new Map<string, { reason: string; message?: string }>();

  constructor(private readonly host: RunnerHost) {}

  waiting(name: string): { reason: string; message?: string } | undefined {
    return this.waitingFor.get(name);
  }

  /** One step toward `spec` running: start it, watch its health, or restart it when `restart` says so. */
  async keep(f: SyncFacts, spec: Writable<Container>, c: ContainerInfo | undefined, restart: (c: ContainerInfo) => boolean): Promise<void> {
    if (!c) await this.start(f, spec, this.nextRestartCount(f.rt, spec.name));
    else if (c.state === 'CONTAINER_RUNNING') await this.watchHealth(f.view, spec, c);
    else if (c.state === 'CONTAINER_CREATED') await this.replace(f, spec, c);
    else if (restart(c)) await this.restart(f, spec, c);
  }

  /** Stops the running containers: the containers together, then the sidecars, last started first. */
  async killAll(rt: PodRuntime, grace: number, why: string): Promise<void> {
    const sidecars = (this.host.pod()?.spec?.initContainers ?? []).filter(isSidecar).map((s) => s.name);
    const running = rt.containers.filter((c) => c.state === 'CONTAINER_RUNNING');
    await Promise.all(running.filter((c) => !sidecars.includes(c.name)).map((c) => this.kill(c, grace, why)));
    for (const name of [...sidecars].reverse()) for (const c of running.filter((x) => x.name === name)) await this.kill(c, grace, why);
  }

  /** Stops a container within `grace` seconds, running its preStop hook first. */
  async kill(c: { id: string; name: string }, grace: number, why: string): Promise<void> {
    const pod = this.host.pod();
    const spec = [...(pod?.spec?.initContainers ?? []), ...(pod?.spec?.containers ?? [])].find((s) => s.name === c.name);
    this.host.event('Normal', 'Killing', `Stopping container ${c.name}${why.startsWith('Container') ? `: ${why}` : ''}`);
    const started = Date.now();
    const preStop = spec?.lifecycle?.preStop;
    if (preStop && spec) {
      const result = await runHandler(
        preStop,
        { cri: this.host.deps.cri, containerId: c.id, container: spec, podIP: pod?.status?.podIP ?? '' },
        grace * 1000,
      );
      if (!result.ok) this.host.event('Warning', 'FailedPreStopHook', `PreStopHook failed: ${result.message}`);
    }
    const left = Math.max(0, grace - Math.floor((Date.now() - started) / 1000));
    this.host.probes.forget(c.id);
    await this.host.deps.runtime.stopContainer(c.id, left);
  }

  private nextRestartCount(rt: PodRuntime, name: string): number {
    const before = rt.containers.find((c) => c.name === name);
    return before ? before.restartCount + 1 : 0;
  }

  /** Restarts a stopped container, unless its backoff says to wait (CrashLoopBackOff). */
  private async restart(f: SyncFacts, spec: Writable<Container>, c: ContainerInfo): Promise<void> {
    const { uid, deps } = this.host;
    const key = `${uid}/${spec.name}`;
    const wait = deps.backoff.remainingMs(key, c.finishedMs);
    if (wait > 0) {
      const delay = deps.backoff.delayMs(key) / 1000;
      const meta = f.view.pod.metadata!;
      if (this.waitingFor.get(spec.name)?.reason !== 'CrashLoopBackOff')
        this.host.event(
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${spec.name} in pod ${meta.name}_${meta.namespace}(${uid})`,
        );
      this.waitingFor.set(spec.name, {
        reason: 'CrashLoopBackOff',
        message: `back-off ${delay}s restarting failed container=${spec.name} pod=${meta.name}_${meta.namespace}(${uid})`,
      });
      this.host.retryIn(wait);
      return;
    }
    deps.backoff.next(key);
    await this.start(f, spec, c.restartCount + 1);
  }

  /** A container created but never started (the agent stopped in between): start over. */
  private async replace(f: SyncFacts, spec: Writable<Container>, c: ContainerInfo): Promise<void> {
    await this.host.deps.runtime.removeContainer(c.id);
    await this.start({ ...f, rt: { ...f.rt, containers: f.rt.containers.filter((x) => x.id !== c.id) } }, spec, c.restartCount);
  }

  private async start(f: SyncFacts, spec: Writable<Container>, restartCount: number): Promise<void> {
    const { uid, deps } = this.host;
    const { pod } = f.view;
    const event = (type: EventType, reason: string, message: string) => this.host.event(type, reason, message);
    const sandboxCfg = this.host.sandboxConfig(pod, f.rt.sandboxes[0]?.attempt ?? 0);
    const image = await ensureImage(deps.runtime.images, deps.cri, deps.backoff, `${uid}/${spec.name}/pull`, spec, sandboxCfg, event);
    if (!image.ok) {
      if (image.reason !== 'ImagePullBackOff') return this.failedStart(spec.name, image.reason, image.message, image.retryMs);
      this.waitingFor.set(spec.name, { reason: image.reason, message: image.message });
      return this.host.retryIn(image.retryMs);
    }
    let config: CriMessage;
    const messageFile = path.join(deps.volumes.podDir(uid), 'containers', spec.name, `${restartCount}.termination-log`);
    try {
      const env = await containerEnv(f.view, spec, deps.sources);
      fs.mkdirSync(path.dirname(messageFile), { recursive: true });
      fs.writeFileSync(messageFile, '');
      config = containerConfig(pod, spec, {
        env,
        volumePaths: f.volumePaths,
        restartCount,
        terminationMessageFile: messageFile,
        hostsFile: pod.spec?.hostNetwork ? undefined : this.host.hostsFile(),
        nodeMemory: deps.nodeMemory,
      });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return this.failedStart(spec.name, 'CreateContainerConfigError', err.message, 10_000);
    }
    let id: string;
    try {
      id = await deps.runtime.createContainer(f.sandboxId, config, sandboxCfg);
    } catch (err) {
      return this.failedStart(spec.name, 'CreateContainerError', (err as Error).message, 10_000);
    }
    event('Normal', 'Created', `Created container ${spec.name}`);
    try {
      await deps.runtime.startContainer(id, f.sandboxId);
    } catch (err) {
      return this.failedStart(spec.name, 'RunContainerError', (err as Error).message, 10_000);
    }
    event('Normal', 'Started', `Started container ${spec.name}`);
    this.waitingFor.delete(spec.name);
    // Keep one dead instance for `logs --previous`; older ones go, with their logs.
    for (const old of f.rt.containers.filter((c) => c.name === spec.name && isExited(c)).slice(1)) await this.removeContainer(old);
    const postStart = spec.lifecycle?.postStart;
    if (postStart) {
      const result = await runHandler(
        postStart,
        { cri: deps.cri, containerId: id, container: spec, podIP: f.view.podIPs[0] ?? '' },
        30_000,
      );
      if (!result.ok) {
        event('Warning', 'FailedPostStartHook', `PostStartHook failed: ${result.message}`);
        await this.kill({ id, name: spec.name }, this.host.gracePeriod(), 'FailedPostStartHook');
      }
    }
  }

  private failedStart(name: string, reason: string, message: string, retryMs: number): void {
    this.waitingFor.set(name, { reason, message });
    this.host.event('Warning', 'Failed', `Error: ${message}`);
    this.host.retryIn(retryMs);
  }

  /** Removes a dead instance and its log file. */
  private async removeContainer(c: ContainerInfo): Promise<void> {
    await this.host.deps.runtime.removeContainer(c.id);
    if (c.logPath) fs.rmSync(c.logPath, { force: true });
  }

  /** A failed liveness or startup probe restarts the container. */
  private async watchHealth(view: PodView, spec: Writable<Container>, c: ContainerInfo): Promise<void> {
    const failed = this.host.probes.watch(view, spec, c);
    if (!failed) return;
    await this.kill(
      c,
      view.pod.spec?.terminationGracePeriodSeconds ?? 30,
      `Container ${spec.name} failed ${failed.kind} probe, will be restarted`,
    );
    this.host.poke();
  }
}
