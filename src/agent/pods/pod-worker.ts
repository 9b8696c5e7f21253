// One pod's life on the node. Each sync looks at the pod (as the API has it) and at containerd, and
// takes the next steps: volumes, the sandbox, init containers one at a time, the containers (image,
// environment, create, start, postStart), restarts with backoff, liveness kills, and the status. A
// pod marked for deletion (or gone) is stopped within its grace period (preStop first), its
// containers, sandbox and volumes removed, and then its API object. Syncs of one pod never overlap.
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Container } from 'kubernetes-types/core/v1.js';
import { ignoreNotFound } from '../../client/errors.js';
import type { EventRecorder, EventType } from '../../client/event-recorder.js';
import type { ResourceClient } from '../../client/rest-client.js';
import type { Writable } from '../../client/resources.js';
import type { CriClient, CriMessage } from '../../cri/client.js';
import { log } from '../../log.js';
import type { Backoff } from './backoff.js';
import { containerConfig, sandboxConfig } from './cri-config.js';
import type { PodView } from './downward.js';
import { containerEnv } from './env.js';
import { runHandler } from './handlers.js';
import { podKey, type P } from './labels.js';
import { isSidecar, podStatus, type ContainerFacts } from './pod-status.js';
import { ProbeWorker } from './probes.js';
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
  /** Probe workers by container id. */
  private readonly probes = new Map<string, ProbeWorker[]>();
  /** Why a container is not running, by name, when containerd cannot say (backoff, config errors). */
  private readonly waiting = new Map<string, { reason: string; message?: string }>();

  constructor(
    readonly uid: string,
    private readonly deps: PodWorkerDeps,
  ) {}

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
    for (const workers of this.probes.values()) for (const w of workers) w.stop();
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
    this.writeHosts(pod, podIPs[0]);
    const inSandbox = rt.containers.filter((c) => c.sandboxId === sandbox.id);
    const latest = (name: string) => inSandbox.find((c) => c.name === name);
    const policy = pod.spec?.restartPolicy ?? 'Always';

    const keep = (spec: Writable<Container>, restart: (c: ContainerInfo) => boolean) => this.keep(view, spec, latest(spec.name), restart, rt, sandbox.id, volumePaths);

    // Init containers one at a time; a sidecar (restartPolicy Always) lets the next one go once
    // started, and keeps running beside the containers.
    let initDone = true;
    for (const ic of pod.spec?.initContainers ?? []) {
      const c = latest(ic.name);
      if (isSidecar(ic)) {
        await keep(ic, () => true);
        if (c?.state === 'CONTAINER_RUNNING' && this.isStarted(ic, c)) continue;
      } else {
        if (c && isExited(c) && c.exitCode === 0) continue;
        await keep(ic, () => policy !== 'Never');
      }
      initDone = false;
      break;
    }
    if (initDone) {
      for (const sidecar of (pod.spec?.initContainers ?? []).filter(isSidecar)) await keep(sidecar, () => true);
      for (const spec of pod.spec?.containers ?? []) await keep(spec, (c) => policy === 'Always' || (policy === 'OnFailure' && c.exitCode !== 0));
    }
    await this.writeStatus(pod, await this.deps.runtime.pod(this.uid), { podIPs, hostIPs, sandboxReady: true, sandboxId: sandbox.id });
  }

  /** One step toward `spec` running: start it, watch its health, or restart it when `restart` says so. */
  private async keep(view: PodView, spec: Writable<Container>, c: ContainerInfo | undefined, restart: (c: ContainerInfo) => boolean, rt: PodRuntime, sandboxId: string, volumePaths: Map<string, string>): Promise<void> {
    if (!c) await this.start(view, spec, rt, sandboxId, volumePaths, this.nextRestartCount(rt, spec.name));
    else if (c.state === 'CONTAINER_RUNNING') await this.watchHealth(view, spec, c);
    else if (c.state === 'CONTAINER_CREATED') await this.replace(view, spec, c, rt, sandboxId, volumePaths);
    else if (restart(c)) await this.restart(view, spec, c, rt, sandboxId, volumePaths);
  }

  /** Running, and past its startup probe if it has one. */
  private isStarted(spec: Writable<Container>, c: ContainerInfo): boolean {
    return c.state === 'CONTAINER_RUNNING' && (!spec.startupProbe || !!this.probes.get(c.id)?.find((w) => w.kind === 'startup')?.ok);
  }

  /** A finished pod keeps its exited containers (for logs) but gives back its sandbox and address. */
  private async finishRun(pod: P, rt: PodRuntime): Promise<void> {
    this.stopProbes();
    const running = rt.containers.some((c) => c.state === 'CONTAINER_RUNNING');
    await this.killAll(rt, this.gracePeriod(), 'pod has finished');
    for (const s of rt.sandboxes.filter((s) => s.ready)) await this.deps.cri.stopPodSandbox(s.id);
    // Sidecars stopped just now: their final state belongs in the status too.
    if (running) await this.writeStatus(pod, await this.deps.runtime.pod(this.uid), { podIPs: (pod.status?.podIPs ?? []).map((p) => p.ip!), hostIPs: this.deps.hostIPs(), sandboxReady: false, sandboxId: rt.sandboxes[0]?.id });
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
    this.stopProbes();
    const grace = this.gracePeriod();
    await this.killAll(rt, grace, 'pod is being deleted');
    for (const s of rt.sandboxes) await this.deps.cri.stopPodSandbox(s.id);
    for (const c of rt.containers) await this.deps.cri.removeContainer(c.id);
    for (const s of rt.sandboxes) await this.deps.cri.removePodSandbox(s.id);
    this.deps.runtime.forget([...rt.containers.map((c) => c.id), ...rt.sandboxes.map((s) => s.id)]);
    await this.deps.volumes.tearDown(this.uid);
    if (pod) fs.rmSync(this.logDir(pod), { recursive: true, force: true });
    this.deps.backoff.forget(`${this.uid}/`);
    if (pod) await this.deps.pods.delete(pod.metadata!.namespace, pod.metadata!.name!, { gracePeriodSeconds: 0, preconditions: { uid: this.uid } }).catch(ignoreNotFound);
    if (this.pod && !this.pod.metadata?.deletionTimestamp) return; // it came back (cannot, uids are unique; defensive)
    this.done = true;
    clearTimeout(this.timer);
    this.deps.finished(this.uid);
  }

  private logDir(pod: P): string {
    return path.join(this.deps.logsDir, `${pod.metadata!.namespace}_${pod.metadata!.name}_${this.uid}`);
  }

  private sandboxConfig(pod: P, attempt: number): CriMessage {
    return sandboxConfig(pod, attempt, this.logDir(pod));
  }

  /** Answers whether the sandbox now runs. */
  private async createSandbox(pod: P, rt: PodRuntime): Promise<boolean> {
    const previous = rt.sandboxes[0];
    if (previous) {
      // The sandbox died (its network or pause process is gone): its containers go with it.
      this.event('Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
      await Promise.all(rt.containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => this.kill(c, this.gracePeriod(), 'sandbox changed')));
      await this.deps.cri.stopPodSandbox(previous.id);
    }
    fs.mkdirSync(this.logDir(pod), { recursive: true });
    try {
      await this.deps.cri.runPodSandbox(this.sandboxConfig(pod, previous ? previous.attempt + 1 : 0));
      return true;
    } catch (err) {
      this.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
      await this.writeStatus(pod, rt, { podIPs: [], hostIPs: this.deps.hostIPs(), sandboxReady: false });
      this.retryIn(5000);
      return false;
    }
  }

  /** /etc/hosts for the pod, as the kubelet writes it (absent with hostNetwork: the host's is used). */
  private writeHosts(pod: P, podIP: string | undefined): void {
    if (pod.spec?.hostNetwork || !podIP) return;
    const hostname = pod.spec?.hostname ?? pod.metadata!.name!;
    const fqdn = pod.spec?.subdomain ? `${hostname}.${pod.spec.subdomain}.${pod.metadata!.namespace}.svc.cluster.local\t` : '';
    const lines = ['# Kubernetes-managed hosts file.', '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'fe00::0\tip6-mcastprefix', 'fe00::1\tip6-allnodes', 'fe00::2\tip6-allrouters', `${podIP}\t${fqdn}${hostname}`];
    for (const alias of pod.spec?.hostAliases ?? []) lines.push(`# Entries added by HostAliases.`, `${alias.ip}\t${(alias.hostnames ?? []).join('\t')}`);
    const file = this.hostsFile();
    const text = lines.join('\n') + '\n';
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }

  private hostsFile(): string {
    return path.join(this.deps.volumes.podDir(this.uid), 'etc-hosts');
  }

  private nextRestartCount(rt: PodRuntime, name: string): number {
    const before = rt.containers.find((c) => c.name === name);
    return before ? before.restartCount + 1 : 0;
  }

  /** Restarts a stopped container, unless its backoff says to wait (CrashLoopBackOff). */
  private async restart(view: PodView, spec: Writable<Container>, c: ContainerInfo, rt: PodRuntime, sandboxId: string, volumePaths: Map<string, string>): Promise<void> {
    const key = `${this.uid}/${spec.name}`;
    const wait = this.deps.backoff.remainingMs(key, c.finishedMs);
    if (wait > 0) {
      const delay = this.deps.backoff.delayMs(key) / 1000;
      const meta = view.pod.metadata!;
      if (this.waiting.get(spec.name)?.reason !== 'CrashLoopBackOff') this.event('Warning', 'BackOff', `Back-off restarting failed container ${spec.name} in pod ${meta.name}_${meta.namespace}(${this.uid})`);
      this.waiting.set(spec.name, { reason: 'CrashLoopBackOff', message: `back-off ${delay}s restarting failed container=${spec.name} pod=${meta.name}_${meta.namespace}(${this.uid})` });
      this.retryIn(wait);
      return;
    }
    this.deps.backoff.next(key);
    await this.start(view, spec, rt, sandboxId, volumePaths, c.restartCount + 1);
  }

  /** A container created but never started (the agent stopped in between): start over. */
  private async replace(view: PodView, spec: Writable<Container>, c: ContainerInfo, rt: PodRuntime, sandboxId: string, volumePaths: Map<string, string>): Promise<void> {
    await this.deps.cri.removeContainer(c.id);
    await this.start(view, spec, { ...rt, containers: rt.containers.filter((x) => x.id !== c.id) }, sandboxId, volumePaths, c.restartCount);
  }

  private async start(view: PodView, spec: Writable<Container>, rt: PodRuntime, sandboxId: string, volumePaths: Map<string, string>, restartCount: number): Promise<void> {
    const { pod } = view;
    const sandboxCfg = this.sandboxConfig(pod, rt.sandboxes[0]?.attempt ?? 0);
    if (!(await this.ensureImage(spec, sandboxCfg))) return;
    let config: CriMessage;
    const messageFile = path.join(this.deps.volumes.podDir(this.uid), 'containers', spec.name, `${restartCount}.termination-log`);
    try {
      const env = await containerEnv(view, spec, this.deps.sources);
      fs.mkdirSync(path.dirname(messageFile), { recursive: true });
      fs.writeFileSync(messageFile, '');
      config = containerConfig(pod, spec, { env, volumePaths, restartCount, terminationMessageFile: messageFile, hostsFile: pod.spec?.hostNetwork ? undefined : this.hostsFile(), nodeMemory: this.deps.nodeMemory });
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
    for (const old of rt.containers.filter((c) => c.name === spec.name && isExited(c)).slice(1)) await this.removeContainer(view.pod, old);
    const postStart = spec.lifecycle?.postStart;
    if (postStart) {
      const result = await runHandler(postStart, { cri: this.deps.cri, containerId: id, container: spec, podIP: view.podIPs[0] ?? '' }, 30_000);
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

  private async removeContainer(pod: P, c: ContainerInfo): Promise<void> {
    await this.deps.cri.removeContainer(c.id);
    this.deps.runtime.forget([c.id]);
    if (c.logPath) fs.rmSync(path.resolve(this.logDir(pod), c.logPath), { force: true });
  }

  /** Makes sure the image is there, by its pull policy; false (with the reason recorded) when not. */
  private async ensureImage(spec: Writable<Container>, sandboxCfg: CriMessage): Promise<boolean> {
    const image = spec.image!;
    const policy = spec.imagePullPolicy ?? 'IfNotPresent';
    const present = await this.deps.cri.imageStatus(image);
    if (present && policy !== 'Always') {
      this.event('Normal', 'Pulled', `Container image "${image}" already present on machine`);
      return true;
    }
    if (policy === 'Never') {
      this.failedStart(spec.name, 'ErrImageNeverPull', `Container image "${image}" is not present with pull policy of Never`, 10_000);
      return false;
    }
    const key = `${this.uid}/${spec.name}/pull`;
    const wait = this.deps.backoff.remainingSinceLast(key);
    if (wait > 0) {
      this.waiting.set(spec.name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` });
      this.retryIn(wait);
      return false;
    }
    this.event('Normal', 'Pulling', `Pulling image "${image}"`);
    try {
      await this.deps.cri.pullImage(image, sandboxCfg);
      this.event('Normal', 'Pulled', `Successfully pulled image "${image}"`);
      return true;
    } catch (err) {
      this.deps.backoff.next(key);
      this.failedStart(spec.name, 'ErrImagePull', `Failed to pull image "${image}": ${(err as Error).message}`, this.deps.backoff.delayMs(key));
      return false;
    }
  }

  /** Stops a container within `grace` seconds, running its preStop hook first. */
  private async kill(c: { id: string; name: string }, grace: number, why: string): Promise<void> {
    const spec = [...(this.pod?.spec?.initContainers ?? []), ...(this.pod?.spec?.containers ?? [])].find((s) => s.name === c.name);
    this.event('Normal', 'Killing', `Stopping container ${c.name}${why.startsWith('Container') ? `: ${why}` : ''}`);
    const started = Date.now();
    const preStop = spec?.lifecycle?.preStop;
    if (preStop && spec) {
      const result = await runHandler(preStop, { cri: this.deps.cri, containerId: c.id, container: spec, podIP: this.pod?.status?.podIP ?? '' }, grace * 1000);
      if (!result.ok) this.event('Warning', 'FailedPreStopHook', `PreStopHook failed: ${result.message}`);
    }
    const left = Math.max(0, grace - Math.floor((Date.now() - started) / 1000));
    for (const w of this.probes.get(c.id) ?? []) w.stop();
    this.probes.delete(c.id);
    await this.deps.cri.stopContainer(c.id, left);
  }

  /** Starts the container's probes once; a failed liveness or startup probe restarts it. */
  private async watchHealth(view: PodView, spec: Writable<Container>, c: ContainerInfo): Promise<void> {
    let workers = this.probes.get(c.id);
    if (!workers) {
      workers = this.probeWorkers(view, spec, c);
      this.probes.set(c.id, workers);
    }
    const failed = workers.find((w) => (w.kind === 'liveness' && !w.ok) || (w.kind === 'startup' && w.gaveUp));
    if (!failed) return;
    await this.kill(c, view.pod.spec?.terminationGracePeriodSeconds ?? 30, `Container ${spec.name} failed ${failed.kind} probe, will be restarted`);
    this.again = true;
  }

  private probeWorkers(view: PodView, spec: Writable<Container>, c: ContainerInfo): ProbeWorker[] {
    const target = { cri: this.deps.cri, containerId: c.id, container: spec, podIP: view.podIPs[0] ?? '' };
    const workers: ProbeWorker[] = [];
    const startup = spec.startupProbe;
    const started = () => !startup || workers.some((w) => w.kind === 'startup' && w.ok);
    const on = {
      failed: (w: ProbeWorker, message: string) => this.event('Warning', 'Unhealthy', `${w.kind[0]!.toUpperCase()}${w.kind.slice(1)} probe failed: ${message}`),
      changed: () => this.poke(),
    };
    // After an agent restart a container that was ready stays ready until a probe says otherwise.
    const wasReady = view.pod.status?.containerStatuses?.some((s) => s.name === spec.name && s.containerID === `containerd://${c.id}` && s.ready);
    if (startup) workers.push(new ProbeWorker('startup', startup, (ms) => runHandler(startup, target, ms), () => true, on));
    if (spec.livenessProbe) workers.push(new ProbeWorker('liveness', spec.livenessProbe, (ms) => runHandler(spec.livenessProbe!, target, ms), started, on));
    if (spec.readinessProbe) workers.push(new ProbeWorker('readiness', spec.readinessProbe, (ms) => runHandler(spec.readinessProbe!, target, ms), started, on, wasReady));
    return workers;
  }

  private stopProbes(): void {
    for (const workers of this.probes.values()) for (const w of workers) w.stop();
    this.probes.clear();
  }

  private containerFacts(spec: Writable<Container>, rt: PodRuntime, sandboxId: string | undefined): ContainerFacts {
    const all = rt.containers.filter((c) => c.name === spec.name);
    const latest = all.find((c) => c.sandboxId === sandboxId) ?? all[0];
    const previous = all.find((c) => c !== latest && isExited(c));
    const running = latest?.state === 'CONTAINER_RUNNING';
    // A probe the spec asks for and that has not passed yet (or not even started) holds the container back.
    const started = !!latest && this.isStarted(spec, latest);
    const ready = started && (!spec.readinessProbe || !!this.probes.get(latest.id)?.find((w) => w.kind === 'readiness')?.ok);
    // containerd's word wins once the container runs again or has finished for good.
    const waiting = running ? undefined : this.waiting.get(spec.name);
    return { name: spec.name, image: spec.image ?? '', latest, previous, waiting, ready, started };
  }

  private async writeStatus(pod: P, rt: PodRuntime, o: { podIPs: string[]; hostIPs: string[]; sandboxReady: boolean; sandboxId?: string }): Promise<void> {
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
    if (written && written.metadata?.uid === this.uid && this.pod?.metadata?.resourceVersion === pod.metadata?.resourceVersion) this.pod = written;
  }
}
