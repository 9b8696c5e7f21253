// One pod's life on the node. Each sync looks at the pod (as the API has it) and at containerd, and
// takes the next steps: volumes, the sandbox, init containers one at a time, the containers (image,
// environment, create, start, postStart), restarts with backoff, liveness kills, and the status. A
// pod marked for deletion (or gone) is stopped within its grace period (preStop first), its
// containers, sandbox and volumes removed, and then its API object. Syncs of one pod never overlap.
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Container } from 'kubernetes-types/core/v1.js';
import { ignoreNotFound } from '../../k8s/errors.js';
import type { EventRecorder, EventType } from '../../client/event-recorder.js';
import type { ResourceClient } from '../../client/rest-client.js';
import type { Writable } from '../../client/resources.js';
import type { CriClient, CriMessage } from '../../cri/client.js';
import { log } from '../../log.js';
import type { Backoff } from './backoff.js';
import { containerConfig, sandboxConfig } from './cri-config.js';
import type { DnsConfig } from './pod-dns.js';
import type { PodView } from './downward.js';
import { containerEnv } from './env.js';
import { runHandler } from './handlers.js';
import { podKey, type P } from './labels.js';
import { isSidecar, podStatus, type ContainerFacts } from './pod-status.js';
import { ContainerProbes } from './container-probes.js';
import { writeEtcHosts } from './etc-hosts.js';
import { ensureImage } from './image-puller.js';
import type { ContainerInfo, PodRuntime, RuntimeView } from './runtime-view.js';
import { ConfigError, type PodSources } from './sources.js';
import { VolumeError, type PodVolumes } from './volumes.js';

export interface PodWorkerDeps {
  cri: CriClient;
  runtime: RuntimeView;
  volumes: PodVolumes;
  sources: PodSources;
  recorder: EventRecorder;
  pods: ResourceClient<P>;
  backoff: Backoff;
  /** Root of the pod log folders (<ns>_<name>_<uid>). */
  logsDir: string;
  hostIPs(): string[];
  /** The pod's resolv.conf and what was cut to fit the resolver's limits (pod-dns.ts). */
  podDns(pod: P): { config: DnsConfig; problems: string[] };
  nodeMemory: number;
  /** Called once the pod is gone from the node and from the API. */
  finished(uid: string): void;
}

const RETRY_MS = 2000;
/** Grace period for containers of pods that vanished from the API (force deleted). */
const VANISHED_GRACE_SECONDS = 2;

const isExited = (c: ContainerInfo) => c.state === 'CONTAINER_EXITED' || c.state === 'CONTAINER_UNKNOWN';

export class PodWorker {
  private pod?: P;
  private syncing = false;
  private again = false;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private done = false;
  private readonly probes: ContainerProbes;
  /** Why a container is not running, by name, when containerd cannot say (backoff, config errors). */
  private readonly waiting = new Map<string, { reason: string; message?: string }>();

  constructor(
    readonly uid: string,
    private readonly deps: PodWorkerDeps,
  ) {
    this.probes = new ContainerProbes(deps.cri, {
      failed: (w, message) => this.event('Warning', 'Unhealthy', `${w.kind[0]!.toUpperCase()}${w.kind.slice(1)} probe failed: ${message}`),
      changed: () => this.poke(),
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
    let volumePaths: Map<string, string>;
    try {
      volumePaths = await this.deps.volumes.setUp({ pod, podIPs: [], hostIPs });
    } catch (err) {
      if (!(err instanceof VolumeError)) throw err;
      this.event('Warning', 'FailedMount', err.message);
      await this.writeStatus(pod, rt, { podIPs: [], hostIPs, sandboxReady: false });
      return this.retryIn(5000);
    }

    let sandbox = rt.sandboxes[0];
    if (!sandbox?.ready) {
      if (!(await this.createSandbox(pod, rt))) return;
      Object.assign(rt, await this.deps.runtime.pod(this.uid));
      sandbox = rt.sandboxes[0]!;
    }
    const podIPs = pod.spec?.hostNetwork ? hostIPs : [await this.deps.runtime.sandboxIP(sandbox.id)].filter(Boolean);
    const view: PodView = { pod, podIPs, hostIPs };
    // /etc/hosts is the host's with hostNetwork.
    if (!pod.spec?.hostNetwork && podIPs[0]) writeEtcHosts(this.hostsFile(), pod, podIPs[0]);
    const inSandbox = rt.containers.filter((c) => c.sandboxId === sandbox.id);
    const latest = (name: string) => inSandbox.find((c) => c.name === name);
    const policy = pod.spec?.restartPolicy ?? 'Always';

    const keep = (spec: Writable<Container>, restart: (c: ContainerInfo) => boolean) =>
      this.keep(view, spec, latest(spec.name), restart, rt, sandbox.id, volumePaths);

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

  /** One step toward `spec` running: start it, watch its health, or restart it when `restart` says so. */
  private async keep(
    view: PodView,
    spec: Writable<Container>,
    c: ContainerInfo | undefined,
    restart: (c: ContainerInfo) => boolean,
    rt: PodRuntime,
    sandboxId: string,
    volumePaths: Map<string, string>,
  ): Promise<void> {
    if (!c) await this.start(view, spec, rt, sandboxId, volumePaths, this.nextRestartCount(rt, spec.name));
    else if (c.state === 'CONTAINER_RUNNING') await this.watchHealth(view, spec, c);
    else if (c.state === 'CONTAINER_CREATED') await this.replace(view, spec, c, rt, sandboxId, volumePaths);
    else if (restart(c)) await this.restart(view, spec, c, rt, sandboxId, volumePaths);
  }

  /** A finished pod keeps its exited containers (for logs) but gives back its sandbox and address. */
  private async finishRun(pod: P, rt: PodRuntime): Promise<void> {
    this.probes.stopAll();
    const running = rt.containers.some((c) => c.state === 'CONTAINER_RUNNING');
    await this.killAll(rt, this.gracePeriod(), 'pod has finished');
    for (const s of rt.sandboxes.filter((s) => s.ready)) await this.deps.cri.stopPodSandbox(s.id);
    // Sidecars stopped just now: their final state belongs in the status too.
    if (running)
      await this.writeStatus(pod, await this.deps.runtime.pod(this.uid), {
        podIPs: (pod.status?.podIPs ?? []).map((p) => p.ip!),
        hostIPs: this.deps.hostIPs(),
        sandboxReady: false,
        sandboxId: rt.sandboxes[0]?.id,
      });
  }

  /** Stops the running containers: the containers together, then the sidecars, last started first. */
  private async killAll(rt: PodRuntime, grace: number, why: string): Promise<void> {
    const sidecars = (this.pod?.spec?.initContainers ?? []).filter(isSidecar).map((s) => s.name);
    const running = rt.containers.filter((c) => c.state === 'CONTAINER_RUNNING');
    await Promise.all(running.filter((c) => !sidecars.includes(c.name)).map((c) => this.kill(c, grace, why)));
    for (const name of [...sidecars].reverse()) for (const c of running.filter((x) => x.name === name)) await this.kill(c, grace, why);
  }

  private gracePeriod(): number {
    const pod = this.pod;
    if (!pod) return VANISHED_GRACE_SECONDS;
    return pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  private async terminate(pod: P | undefined, rt: PodRuntime): Promise<void> {
    this.probes.stopAll();
    const grace = this.gracePeriod();
    await this.killAll(rt, grace, 'pod is being deleted');
    for (const s of rt.sandboxes) await this.deps.cri.stopPodSandbox(s.id);
    for (const c of rt.containers) await this.deps.cri.removeContainer(c.id);
    for (const s of rt.sandboxes) await this.deps.cri.removePodSandbox(s.id);
    this.deps.runtime.forget([...rt.containers.map((c) => c.id), ...rt.sandboxes.map((s) => s.id)]);
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
        rt.containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => this.kill(c, this.gracePeriod(), 'sandbox changed')),
      );
      await this.deps.cri.stopPodSandbox(previous.id);
    }
    fs.mkdirSync(this.logDir(pod), { recursive: true });
    try {
      await this.deps.cri.runPodSandbox(this.sandboxConfig(pod, previous ? previous.attempt + 1 : 0, true));
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

  private nextRestartCount(rt: PodRuntime, name: string): number {
    const before = rt.containers.find((c) => c.name === name);
    return before ? before.restartCount + 1 : 0;
  }

  /** Restarts a stopped container, unless its backoff says to wait (CrashLoopBackOff). */
  private async restart(
    view: PodView,
    spec: Writable<Container>,
    c: ContainerInfo,
    rt: PodRuntime,
    sandboxId: string,
    volumePaths: Map<string, string>,
  ): Promise<void> {
    const key = `${this.uid}/${spec.name}`;
    const wait = this.deps.backoff.remainingMs(key, c.finishedMs);
    if (wait > 0) {
      const delay = this.deps.backoff.delayMs(key) / 1000;
      const meta = view.pod.metadata!;
      if (this.waiting.get(spec.name)?.reason !== 'CrashLoopBackOff')
        this.event(
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${spec.name} in pod ${meta.name}_${meta.namespace}(${this.uid})`,
        );
      this.waiting.set(spec.name, {
        reason: 'CrashLoopBackOff',
        message: `back-off ${delay}s restarting failed container=${spec.name} pod=${meta.name}_${meta.namespace}(${this.uid})`,
      });
      this.retryIn(wait);
      return;
    }
    this.deps.backoff.next(key);
    await this.start(view, spec, rt, sandboxId, volumePaths, c.restartCount + 1);
  }

  /** A container created but never started (the agent stopped in between): start over. */
  private async replace(
    view: PodView,
    spec: Writable<Container>,
    c: ContainerInfo,
    rt: PodRuntime,
    sandboxId: string,
    volumePaths: Map<string, string>,
  ): Promise<void> {
    await this.deps.cri.removeContainer(c.id);
    await this.start(view, spec, { ...rt, containers: rt.containers.filter((x) => x.id !== c.id) }, sandboxId, volumePaths, c.restartCount);
  }

  private async start(
    view: PodView,
    spec: Writable<Container>,
    rt: PodRuntime,
    sandboxId: string,
    volumePaths: Map<string, string>,
    restartCount: number,
  ): Promise<void> {
    const { pod } = view;
    const sandboxCfg = this.sandboxConfig(pod, rt.sandboxes[0]?.attempt ?? 0);
    const image = await ensureImage(
      this.deps.cri,
      this.deps.backoff,
      `${this.uid}/${spec.name}/pull`,
      spec,
      sandboxCfg,
      (type, reason, message) => this.event(type, reason, message),
    );
    if (!image.ok) {
      if (image.reason !== 'ImagePullBackOff') return this.failedStart(spec.name, image.reason, image.message, image.retryMs);
      this.waiting.set(spec.name, { reason: image.reason, message: image.message });
      return this.retryIn(image.retryMs);
    }
    let config: CriMessage;
    const messageFile = path.join(this.deps.volumes.podDir(this.uid), 'containers', spec.name, `${restartCount}.termination-log`);
    try {
      const env = await containerEnv(view, spec, this.deps.sources);
      fs.mkdirSync(path.dirname(messageFile), { recursive: true });
      fs.writeFileSync(messageFile, '');
      config = containerConfig(pod, spec, {
        env,
        volumePaths,
        restartCount,
        terminationMessageFile: messageFile,
        hostsFile: pod.spec?.hostNetwork ? undefined : this.hostsFile(),
        nodeMemory: this.deps.nodeMemory,
      });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return this.failedStart(spec.name, 'CreateContainerConfigError', err.message, 10_000);
    }
    let id: string;
    try {
      id = (await this.deps.cri.createContainer(sandboxId, config, sandboxCfg)).containerId;
    } catch (err) {
      return this.failedStart(spec.name, 'CreateContainerError', (err as Error).message, 10_000);
    }
    this.event('Normal', 'Created', `Created container ${spec.name}`);
    try {
      await this.deps.cri.startContainer(id);
    } catch (err) {
      return this.failedStart(spec.name, 'RunContainerError', (err as Error).message, 10_000);
    }
    this.event('Normal', 'Started', `Started container ${spec.name}`);
    this.waiting.delete(spec.name);
    // Keep one dead instance for `logs --previous`; older ones go, with their logs.
    for (const old of rt.containers.filter((c) => c.name === spec.name && isExited(c)).slice(1)) await this.removeContainer(old);
    const postStart = spec.lifecycle?.postStart;
    if (postStart) {
      const result = await runHandler(
        postStart,
        { cri: this.deps.cri, containerId: id, container: spec, podIP: view.podIPs[0] ?? '' },
        30_000,
      );
      if (!result.ok) {
        this.event('Warning', 'FailedPostStartHook', `PostStartHook failed: ${result.message}`);
        await this.kill({ id, name: spec.name }, this.gracePeriod(), 'FailedPostStartHook');
      }
    }
  }

  private failedStart(name: string, reason: string, message: string, retryMs: number): void {
    this.waiting.set(name, { reason, message });
    this.event('Warning', 'Failed', `Error: ${message}`);
    this.retryIn(retryMs);
  }

  /** Removes a dead instance and its log file. */
  private async removeContainer(c: ContainerInfo): Promise<void> {
    await this.deps.cri.removeContainer(c.id);
    this.deps.runtime.forget([c.id]);
    if (c.logPath) fs.rmSync(c.logPath, { force: true });
  }

  /** Stops a container within `grace` seconds, running its preStop hook first. */
  private async kill(c: { id: string; name: string }, grace: number, why: string): Promise<void> {
    const spec = [...(this.pod?.spec?.initContainers ?? []), ...(this.pod?.spec?.containers ?? [])].find((s) => s.name === c.name);
    this.event('Normal', 'Killing', `Stopping container ${c.name}${why.startsWith('Container') ? `: ${why}` : ''}`);
    const started = Date.now();
    const preStop = spec?.lifecycle?.preStop;
    if (preStop && spec) {
      const result = await runHandler(
        preStop,
        { cri: this.deps.cri, containerId: c.id, container: spec, podIP: this.pod?.status?.podIP ?? '' },
        grace * 1000,
      );
      if (!result.ok) this.event('Warning', 'FailedPreStopHook', `PreStopHook failed: ${result.message}`);
    }
    const left = Math.max(0, grace - Math.floor((Date.now() - started) / 1000));
    this.probes.forget(c.id);
    await this.deps.cri.stopContainer(c.id, left);
  }

  /** A failed liveness or startup probe restarts the container. */
  private async watchHealth(view: PodView, spec: Writable<Container>, c: ContainerInfo): Promise<void> {
    const failed = this.probes.watch(view, spec, c);
    if (!failed) return;
    await this.kill(
      c,
      view.pod.spec?.terminationGracePeriodSeconds ?? 30,
      `Container ${spec.name} failed ${failed.kind} probe, will be restarted`,
    );
    this.again = true;
  }

  private containerFacts(spec: Writable<Container>, rt: PodRuntime, sandboxId: string | undefined): ContainerFacts {
    const all = rt.containers.filter((c) => c.name === spec.name);
    const latest = all.find((c) => c.sandboxId === sandboxId) ?? all[0];
    const previous = all.find((c) => c !== latest && isExited(c));
    const running = latest?.state === 'CONTAINER_RUNNING';
    const started = !!latest && this.probes.isStarted(spec, latest);
    const ready = !!latest && this.probes.isReady(spec, latest);
    // containerd's word wins once the container runs again or has finished for good.
    const waiting = running ? undefined : this.waiting.get(spec.name);
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
      ignoreNotFound(err);
      return undefined;
    });
    if (written && written.metadata?.uid === this.uid && this.pod?.metadata?.resourceVersion === pod.metadata?.resourceVersion)
      this.pod = written;
  }
}
