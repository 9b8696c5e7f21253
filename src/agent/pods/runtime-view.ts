// containerd as the agent sees it: the sandboxes and containers of its pods (found by the pod uid
// label), kept in memory so that a pod's sync asks containerd nothing. The agent's own calls (run,
// create, start, stop, remove) go through here and record what they did; containerd's events say what
// changed on its own (a container exited, a sandbox died, something was deleted) and `changed` names
// the pod; a list of the whole node (at start, then now and then) catches what events missed. A
// container's details (exit code, times, log path) come from ContainerStatus, asked only when its
// state changes.
import { nowTimestamp } from '../../k8s/time.js';
import { isCriNotFound, type CriClient, type CriMessage } from '../../cri/client.js';
import type { RuntimeEvent } from '../../cri/events.js';
import type { ContainerStatus, PodSandbox } from '../../cri/messages.js';
import { log } from '../../log.js';
import { KnownImages } from './image-puller.js';
import { CONTAINER_NAME, POD_UID, RESTART_COUNT, TERMINATION_MESSAGE_FILE } from './labels.js';

export interface SandboxInfo {
  id: string;
  attempt: number;
  ready: boolean;
  createdAt: number;
}

export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface ContainerInfo {
  id: string;
  sandboxId: string;
  name: string;
  restartCount: number;
  state: ContainerState;
  createdAt: number;
  /** RFC 3339, when known. */
  startedAt?: string;
  finishedAt?: string;
  /** Milliseconds since the epoch, for backoff. */
  finishedMs: number;
  exitCode: number;
  reason: string;
  message: string;
  image: string;
  imageRef: string;
  terminationMessageFile?: string;
  logPath: string;
}

export interface PodRuntime {
  sandboxes: SandboxInfo[];
  containers: ContainerInfo[];
}

/** What was learnt when: a list started before an entry was written must not undo it. */
interface Entry {
  uid: string;
  seq: number;
}
interface SandboxEntry extends Entry {
  info: SandboxInfo;
}
interface ContainerEntry extends Entry {
  sandboxId: string;
  status: ContainerStatus;
}

const time = (ns: number) => (ns > 0 ? nowTimestamp(new Date(ns / 1e6)) : undefined);
const newestFirst = (a: { createdAt: number }, b: { createdAt: number }) => b.createdAt - a.createdAt;
const sandboxInfo = (s: Pick<PodSandbox, 'id' | 'metadata' | 'state' | 'createdAt'>): SandboxInfo => ({
  id: s.id,
  attempt: s.metadata.attempt,
  ready: s.state === 'SANDBOX_READY',
  createdAt: s.createdAt,
});

function containerInfo(id: string, e: ContainerEntry): ContainerInfo {
  const s = e.status;
  return {
    id,
    sandboxId: e.sandboxId,
    name: s.labels?.[CONTAINER_NAME] ?? s.metadata.name,
    restartCount: Number(s.annotations?.[RESTART_COUNT] ?? s.metadata.attempt ?? 0),
    state: s.state,
    createdAt: s.createdAt,
    startedAt: time(s.startedAt),
    finishedAt: time(s.finishedAt),
    finishedMs: s.finishedAt / 1e6,
    exitCode: s.exitCode,
    reason: s.reason,
    message: s.message,
    image: s.image?.image ?? '',
    imageRef: s.imageRef ?? '',
    terminationMessageFile: s.annotations?.[TERMINATION_MESSAGE_FILE],
    logPath: s.logPath,
  };
}

/** containerd's CRI acts on a task's exit a moment after the event: ask until it tells the change (then the relist will). */
const POLL_MS = [20, 50, 100, 200, 500, 1000, 2000];
/** How long an exit of a container not known yet is remembered. */
const EARLY_EXIT_MS = 60_000;

export class RuntimeView {
  readonly images: KnownImages;
  private readonly sandboxes = new Map<string, SandboxEntry>();
  private readonly containers = new Map<string, ContainerEntry>();
  private readonly ips = new Map<string, string>();
  /** Exits of containers not known yet: the event can overtake the answer to the call that started it. */
  private readonly earlyExits = new Map<string, number>();
  private readonly polling = new Set<string>();
  private seq = 0;
  private listed = false;
  private firstList?: Promise<unknown>;
  /** Told the uid of a pod whose sandbox or containers changed on their own. */
  changed: (uid: string) => void = () => {};

  constructor(readonly cri: CriClient) {
    this.images = new KnownImages(cri);
  }

  /** The pod's sandboxes and containers, newest first (the first call lists the node). */
  async pod(uid: string): Promise<PodRuntime> {
    if (!this.listed) await (this.firstList ??= this.relist().finally(() => (this.firstList = undefined)));
    return {
      sandboxes: [...this.sandboxes.values()]
        .filter((s) => s.uid === uid)
        .map((s) => s.info)
        .sort(newestFirst),
      containers: [...this.containers]
        .filter(([, c]) => c.uid === uid)
        .map(([id, c]) => containerInfo(id, c))
        .sort(newestFirst),
    };
  }

  /** Whether containerd has anything of the pod, as far as known. */
  has(uid: string): boolean {
    return [...this.sandboxes.values(), ...this.containers.values()].some((e) => e.uid === uid);
  }

  /** Lists the whole node: answers the pods whose sandboxes or containers changed, and every pod seen. */
  async relist(): Promise<{ changed: Set<string>; seen: Set<string> }> {
    const since = this.seq;
    const stale = (e: Entry | undefined) => !e || e.seq <= since;
    const [sandboxes, containers] = await Promise.all([this.cri.listPodSandbox(), this.cri.listContainers()]);
    const changed = new Set<string>();
    const seen = new Set<string>();
    const listed = new Set<string>();
    for (const s of sandboxes) {
      const uid = s.labels?.[POD_UID];
      if (!uid) continue;
      seen.add(uid);
      listed.add(s.id);
      const e = this.sandboxes.get(s.id);
      if (!stale(e) || (e && e.info.ready === (s.state === 'SANDBOX_READY'))) continue;
      this.sandboxes.set(s.id, { uid, info: sandboxInfo(s), seq: ++this.seq });
      changed.add(uid);
    }
    await Promise.all(
      containers.map(async (c) => {
        const uid = c.labels?.[POD_UID];
        if (!uid) return;
        seen.add(uid);
        listed.add(c.id);
        const e = this.containers.get(c.id);
        if (!stale(e) || e?.status.state === c.state) return;
        const status = await this.status(c.id);
        if (status && stale(this.containers.get(c.id)) && this.put(c.id, c.podSandboxId, status)) changed.add(uid);
      }),
    );
    for (const map of [this.sandboxes, this.containers] as Map<string, Entry>[])
      for (const [id, e] of map)
        if (!listed.has(id) && stale(e)) {
          this.drop(id);
          changed.add(e.uid);
        }
    this.listed = true;
    return { changed, seen };
  }

  /** One of containerd's events (src/cri/events.ts): what it changes is asked and recorded, and the pod named. */
  handle(e: RuntimeEvent): void {
    if (e.topic === '/images/delete') {
      this.images.forget();
      return;
    }
    const id = e.containerId;
    if (e.topic === '/containers/delete') {
      const uid = this.drop(id);
      if (uid) this.changed(uid);
      return;
    }
    if (e.topic === '/tasks/exit' || e.topic === '/tasks/delete') {
      if (!e.init) return; // a probe's or kubectl exec's process
      if (this.sandboxes.get(id)?.info.ready)
        void this.follow(
          id,
          () => this.sandboxStatus(id),
          (s) => !s?.ready,
        );
      else if (this.containers.has(id)) this.followExit(id);
      else if (!this.sandboxes.has(id)) this.earlyExit(id);
      return;
    }
    const was = this.containers.get(id)?.status.state;
    if (was && was !== 'CONTAINER_RUNNING')
      void this.follow(
        id,
        () => this.refreshContainer(id),
        (s) => s?.state !== was,
      );
  }

  /** The sandbox's pod IP (fixed for its life). */
  async sandboxIP(id: string): Promise<string> {
    if (!this.ips.has(id)) await this.sandboxStatus(id);
    return this.ips.get(id) ?? '';
  }

  /** The log files of the running containers (for log rotation). */
  runningLogs(): { containerId: string; logPath: string }[] {
    return [...this.containers]
      .filter(([, c]) => c.status.state === 'CONTAINER_RUNNING' && c.status.logPath)
      .map(([containerId, c]) => ({ containerId, logPath: c.status.logPath }));
  }

  // The agent's own calls: each records what it did.

  async runPodSandbox(config: CriMessage, runtimeHandler?: string): Promise<string> {
    const { podSandboxId } = await this.cri.runPodSandbox(config, runtimeHandler);
    await this.sandboxStatus(podSandboxId);
    return podSandboxId;
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.cri.stopPodSandbox(id);
    const s = this.sandboxes.get(id);
    if (s) this.sandboxes.set(id, { ...s, info: { ...s.info, ready: false }, seq: ++this.seq });
    // Its containers stopped with it.
    for (const [cid, c] of this.containers)
      if (c.sandboxId === id && c.status.state === 'CONTAINER_RUNNING') await this.refreshContainer(cid, id);
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.cri.removePodSandbox(id);
    for (const [cid, c] of this.containers) if (c.sandboxId === id) this.drop(cid);
    this.drop(id);
  }

  async createContainer(sandboxId: string, config: CriMessage, sandboxConfig: CriMessage): Promise<string> {
    return (await this.cri.createContainer(sandboxId, config, sandboxConfig)).containerId;
  }

  /** Starts a created container; what containerd says after is recorded either way (a failed start leaves it created). */
  async startContainer(id: string, sandboxId: string): Promise<void> {
    try {
      await this.cri.startContainer(id);
    } finally {
      await this.refreshContainer(id, sandboxId).catch(() => {});
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.cri.stopContainer(id, timeoutSeconds);
    await this.refreshContainer(id);
  }

  async removeContainer(id: string): Promise<void> {
    await this.cri.removeContainer(id);
    this.drop(id);
  }

  /** Asks for the container's status and records it (a container not known yet needs its sandbox named). */
  private async refreshContainer(id: string, sandboxId?: string): Promise<ContainerStatus | undefined> {
    const status = await this.status(id);
    const sandbox = sandboxId ?? this.containers.get(id)?.sandboxId;
    if (!status || !sandbox) return status;
    this.put(id, sandbox, status);
    if (this.earlyExits.delete(id) && status.state === 'CONTAINER_RUNNING') this.followExit(id);
    return status;
  }

  /** Records a container's status; answers whether its state is new. */
  private put(id: string, sandboxId: string, status: ContainerStatus): boolean {
    const uid = status.labels?.[POD_UID];
    if (!uid) return false;
    const before = this.containers.get(id)?.status.state;
    this.containers.set(id, { uid, sandboxId, status, seq: ++this.seq });
    return before !== status.state;
  }

  /** Forgets a sandbox or container; answers its pod's uid if it was known. */
  private drop(id: string): string | undefined {
    const uid = (this.sandboxes.get(id) ?? this.containers.get(id))?.uid;
    this.sandboxes.delete(id);
    this.containers.delete(id);
    this.ips.delete(id);
    return uid;
  }

  private earlyExit(id: string): void {
    const now = Date.now();
    for (const [old, at] of this.earlyExits) if (now - at > EARLY_EXIT_MS) this.earlyExits.delete(old);
    this.earlyExits.set(id, now);
  }

  private followExit(id: string): void {
    if (this.containers.get(id)?.status.state === 'CONTAINER_EXITED') return; // stopped by the agent, recorded already
    void this.follow(
      id,
      () => this.refreshContainer(id),
      (s) => s?.state !== 'CONTAINER_RUNNING',
    );
  }

  /** Asks `get` (which records what it learns) until `done`, then names the pod as changed. */
  private async follow<T>(id: string, get: () => Promise<T>, done: (v: T) => boolean): Promise<void> {
    if (this.polling.has(id)) return;
    this.polling.add(id);
    const uid = (this.sandboxes.get(id) ?? this.containers.get(id))?.uid;
    try {
      for (const ms of POLL_MS) {
        await new Promise((r) => setTimeout(r, ms));
        if (done(await get())) break;
      }
    } catch (err) {
      log.warn({ id, err: (err as Error).message }, 'containerd status after an event failed; the next relist will tell');
    } finally {
      this.polling.delete(id);
    }
    if (uid) this.changed(uid);
  }

  /** The container's status; undefined (and forgotten) when containerd has it no more. */
  private async status(id: string): Promise<ContainerStatus | undefined> {
    try {
      return (await this.cri.containerStatus(id)).status;
    } catch (err) {
      if (!isCriNotFound(err)) throw err;
      this.drop(id);
      return undefined;
    }
  }

  private async sandboxStatus(id: string): Promise<SandboxInfo | undefined> {
    try {
      const { status } = await this.cri.podSandboxStatus(id);
      const uid = status.labels?.[POD_UID];
      const info = sandboxInfo(status);
      if (uid) this.sandboxes.set(id, { uid, info, seq: ++this.seq });
      this.ips.set(id, status.network?.ip ?? '');
      return info;
    } catch (err) {
      if (!isCriNotFound(err)) throw err;
      this.drop(id);
      return undefined;
    }
  }
}
