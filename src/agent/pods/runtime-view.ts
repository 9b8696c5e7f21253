// A pod as containerd holds it: its sandboxes and containers (newest first), found by the pod uid
// label, with the details (exit codes, times) that only ContainerStatus gives. A container's details
// are fetched again only when its state changes, so a steady pod costs two list calls per sync.
import { nowTimestamp } from '../../k8s/time.js';
import type { CriClient } from '../../cri/client.js';
import type { Container, ContainerStatus } from '../../cri/messages.js';
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

const time = (ns: number) => (ns > 0 ? nowTimestamp(new Date(ns / 1e6)) : undefined);
const newestFirst = (a: { createdAt: number }, b: { createdAt: number }) => b.createdAt - a.createdAt;

export class RuntimeView {
  private readonly details = new Map<string, { state: string; status: ContainerStatus }>();
  private readonly ips = new Map<string, string>();

  constructor(readonly cri: CriClient) {}

  async pod(uid: string): Promise<PodRuntime> {
    const filter = { labelSelector: { [POD_UID]: uid } };
    const [sandboxes, containers] = await Promise.all([this.cri.listPodSandbox(filter), this.cri.listContainers(filter)]);
    return {
      sandboxes: sandboxes
        .map((s) => ({ id: s.id, attempt: s.metadata.attempt, ready: s.state === 'SANDBOX_READY', createdAt: s.createdAt }))
        .sort(newestFirst),
      containers: (await Promise.all(containers.map((c) => this.container(c)))).sort(newestFirst),
    };
  }

  private async container(listed: Container): Promise<ContainerInfo> {
    let cached = this.details.get(listed.id);
    if (!cached || cached.state !== listed.state) {
      const { status } = await this.cri.containerStatus(listed.id);
      cached = { state: status.state, status };
      this.details.set(listed.id, cached);
    }
    const s = cached.status;
    return {
      id: listed.id,
      sandboxId: listed.podSandboxId,
      name: listed.labels?.[CONTAINER_NAME] ?? listed.metadata.name,
      restartCount: Number(listed.annotations?.[RESTART_COUNT] ?? listed.metadata.attempt ?? 0),
      state: s.state,
      createdAt: listed.createdAt,
      startedAt: time(s.startedAt),
      finishedAt: time(s.finishedAt),
      finishedMs: s.finishedAt / 1e6,
      exitCode: s.exitCode,
      reason: s.reason,
      message: s.message,
      image: s.image?.image ?? listed.image?.image ?? '',
      imageRef: s.imageRef ?? listed.imageRef ?? '',
      terminationMessageFile: listed.annotations?.[TERMINATION_MESSAGE_FILE],
      logPath: s.logPath,
    };
  }

  /** The sandbox's pod IP (fixed for its life). */
  async sandboxIP(id: string): Promise<string> {
    let ip = this.ips.get(id);
    if (ip === undefined) {
      const { status } = await this.cri.podSandboxStatus(id);
      ip = status.network?.ip ?? '';
      this.ips.set(id, ip);
    }
    return ip;
  }

  /** The log files of the running containers seen so far (for log rotation). */
  runningLogs(): { containerId: string; logPath: string }[] {
    return [...this.details]
      .filter(([, d]) => d.state === 'CONTAINER_RUNNING' && d.status.logPath)
      .map(([containerId, d]) => ({ containerId, logPath: d.status.logPath as string }));
  }

  forget(ids: string[]): void {
    for (const id of ids) {
      this.details.delete(id);
      this.ips.delete(id);
    }
  }
}
