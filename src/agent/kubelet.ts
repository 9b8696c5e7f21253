// The node agent proper (what Kubernetes calls the kubelet): the Node and its Lease, the CNI network
// once the server has given the node its pod range, and a worker per pod bound to the node. A relist
// of containerd every second notices containers that changed on their own (exited, died) and wakes
// their pods' workers; sandboxes and containers of pods the API no longer has are removed.
import os from 'node:os';
import path from 'node:path';
import { EventRecorder } from '../client/event-recorder.js';
import { Informer } from '../client/informer.js';
import type { ApiClient } from '../client/rest-client.js';
import { pods, type Writable } from '../client/resources.js';
import type { Taint } from 'kubernetes-types/core/v1.js';
import { sleep } from '../client/sleep.js';
import type { CriClient } from '../cri/client.js';
import { log } from '../log.js';
import { removeCniConfig, writeCniConfig } from './cni.js';
import { hostFacts } from './node-facts.js';
import { NodeReporter } from './node-reporter.js';
import { Backoff } from './pods/backoff.js';
import { POD_UID, type P } from './pods/labels.js';
import { PodWorker } from './pods/pod-worker.js';
import { RuntimeView, type ContainerInfo } from './pods/runtime-view.js';
import { KubeletError } from './kubelet-error.js';
import { ApiSources } from './pods/sources.js';
import { Checkpoint } from './pods/checkpoint.js';
import { rotateLogs } from './pods/log-rotation.js';
import type { KubeletArgs } from './kubelet-args.js';
import { PodVolumes } from './pods/volumes.js';
import { podDnsConfig, type PodDnsSettings } from './pods/pod-dns.js';
import { readResolvConf } from './resolv-conf.js';

export interface KubeletOptions {
  nodeName: string;
  nodeIP: string;
  /** --node-external-ip: reported as the Node's ExternalIP. */
  externalIP?: string;
  cri: CriClient;
  /** The agent's state: <dataDir>/agent/{pods,logs,cni}. */
  dataDir: string;
  cniConfDir: string;
  /** Linux bridge of the pod network (K3s: cni0). */
  cniBridge?: string;
  /** The agent's CNI config: masquerading and MTU as the pod network backend wants them; `false`: none (--flannel-backend none). */
  cniNetwork?: { ipMasq?: boolean; mtu?: number } | false;
  labels?: Record<string, string>;
  taints?: Writable<Taint>[];
  /** The port (written to the Node as status.daemonEndpoints, where the API server calls) and log rotation. */
  kubeletArgs: KubeletArgs;
  /** Every pod is synced this often even when nothing happened (volume contents, tokens). */
  resyncMs?: number;
  /** Cluster DNS for pods' resolv.conf, and the host's resolv.conf file (read at each sandbox, as the kubelet does). */
  dns: PodDnsSettings & { resolvConf: string };
}

const RELIST_MS = 1000;
/** How long the start waits for the API's list of the node's pods before it runs the checkpoint's. */
const API_WAIT_MS = 5000;
/** How often log sizes are checked (the kubelet: every 10 s). */
const LOG_ROTATION_MS = 10_000;

export class Kubelet {
  readonly reporter: NodeReporter;
  private readonly informer: Informer<P>;
  private readonly workers = new Map<string, PodWorker>();
  private readonly abort = new AbortController();
  private readonly runtime: RuntimeView;
  private readonly volumes: PodVolumes;
  private readonly backoff = new Backoff();
  private readonly recorder: EventRecorder;
  private readonly sources: ApiSources;
  private readonly checkpoint: Checkpoint;
  private lastSeen = new Map<string, string>();
  readonly logsDir: string;

  constructor(
    api: ApiClient,
    private readonly opts: KubeletOptions,
  ) {
    const client = api.as('kubelet');
    this.reporter = new NodeReporter(client, {
      name: opts.nodeName,
      labels: { 'node.kubernetes.io/instance-type': 'skiff', ...opts.labels },
      taints: opts.taints,
      kubeletPort: opts.kubeletArgs.port,
      facts: hostFacts({
        cri: opts.cri,
        nodeIP: opts.nodeIP,
        externalIP: opts.externalIP,
        hostname: os.hostname(),
        dataDir: opts.dataDir,
      }),
    });
    this.informer = new Informer(client.resource(pods), { fieldSelector: `spec.nodeName=${opts.nodeName}` });
    this.runtime = new RuntimeView(opts.cri);
    this.recorder = new EventRecorder(client, 'kubelet', opts.nodeName);
    const agentDir = path.join(opts.dataDir, 'agent');
    this.logsDir = path.join(agentDir, 'logs');
    this.checkpoint = new Checkpoint(agentDir);
    this.sources = new ApiSources(
      client,
      this.checkpoint,
      () => (this.reporter.node()?.status?.allocatable ?? {}) as Record<string, string>,
    );
    this.volumes = new PodVolumes(path.join(agentDir, 'pods'), this.sources);
    this.informer.addIndex('uid', (p) => [p.metadata!.uid!]);
  }

  /**
   * Starts the pods of the node: as the API has them, or from the checkpoint when the API does not
   * answer; resolves with whether it answered.
   */
  async start(): Promise<boolean> {
    // Registration goes on in the background while the server cannot be reached.
    const registered = this.reporter.start();
    void this.setUpNetwork();
    const podClient = this.informer.client;
    const deps = {
      cri: this.opts.cri,
      runtime: this.runtime,
      volumes: this.volumes,
      sources: this.sources,
      recorder: this.recorder,
      pods: podClient,
      backoff: this.backoff,
      logsDir: this.logsDir,
      hostIPs: () => [this.opts.nodeIP],
      podDns: (pod: P) => podDnsConfig(pod, this.opts.dns, readResolvConf(this.opts.dns.resolvConf)),
      nodeMemory: os.totalmem(),
      finished: (uid: string) => this.workers.delete(uid),
    };
    const worker = (uid: string) => {
      let w = this.workers.get(uid);
      if (!w) this.workers.set(uid, (w = new PodWorker(uid, deps)));
      return w;
    };
    this.sources.start();
    this.informer.start();
    let listed = false;
    const listing = this.informer.synced().then(() => (listed = !this.abort.signal.aborted));
    // With the server there, the Node (its allocatable resources) is known before the first pod starts.
    await Promise.race([Promise.all([listing, registered]), sleep(API_WAIT_MS, this.abort.signal)]);
    // The checkpoint first: what the worker reads for the pod is kept for a pod that is kept.
    const seen = (pod: P) => {
      this.checkpoint.savePod(pod);
      worker(pod.metadata!.uid!).update(pod);
    };
    // Pods listed so far come as adds.
    this.informer.on({
      add: seen,
      update: (_old, pod) => seen(pod),
      delete: (pod) => {
        this.checkpoint.removePod(pod.metadata!.uid!);
        this.workers.get(pod.metadata!.uid!)?.update(undefined);
      },
    });
    if (!listed) this.startFromCheckpoint(worker);
    void this.informer.synced().then(() => this.forgetVanished());
    void this.relistLoop(worker);
    return listed;
  }

  /** Resolves once the API has listed the node's pods (or the kubelet stops). */
  apiAnswered(): Promise<void> {
    return this.informer.synced();
  }

  /** The API does not answer: the pods kept in the checkpoint run as they were last seen. */
  private startFromCheckpoint(worker: (uid: string) => PodWorker): void {
    const kept = this.checkpoint.pods().filter((p) => !this.workers.has(p.metadata!.uid!));
    log.warn({ pods: kept.length }, 'the API cannot be reached: starting the pods of the checkpoint');
    for (const pod of kept) worker(pod.metadata!.uid!).update(pod);
  }

  /** Once the API has listed the node's pods: those it no longer has (deleted while it was away) stop. */
  private forgetVanished(): void {
    if (this.abort.signal.aborted) return;
    for (const pod of this.checkpoint.pods()) {
      const uid = pod.metadata!.uid!;
      if (this.informer.byIndex('uid', uid).length) continue;
      if (this.workers.has(uid))
        log.info({ pod: `${pod.metadata!.namespace}/${pod.metadata!.name}` }, 'pod deleted while the API was away');
      this.checkpoint.removePod(uid);
      this.workers.get(uid)?.update(undefined);
    }
  }

  /** Stops the agent's loops; containers keep running (a restarted agent adopts them). */
  stop(): void {
    this.abort.abort();
    this.reporter.stop();
    this.informer.stop();
    this.sources.stop();
    for (const w of this.workers.values()) w.stop();
  }

  get cri(): CriClient {
    return this.opts.cri;
  }

  private podByName(namespace: string, name: string): P {
    const pod = this.informer.get(`${namespace}/${name}`);
    if (!pod) throw new KubeletError(404, `pod "${name}" not found on node ${this.opts.nodeName}`);
    return pod;
  }

  /** A pod's container (or the one before it, with `previous`), or an error that says why there is none. */
  async findContainer(namespace: string, podName: string, name: string, previous: boolean): Promise<ContainerInfo> {
    const pod = this.podByName(namespace, podName);
    const rt = await this.runtime.pod(pod.metadata!.uid!);
    const instances = rt.containers.filter((c) => c.name === name);
    // --previous means the instance the status reports as lastState, as upstream.
    const status = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((s) => s.name === name);
    const lastId = status?.lastState?.terminated?.containerID?.replace(/^containerd:\/\//, '');
    const found = previous ? instances.find((c) => c.id === lastId) : instances[0];
    if (found) return found;
    if (previous) throw new KubeletError(400, `previous terminated container "${name}" in pod "${podName}" not found`);
    const waiting = status?.state?.waiting?.reason ?? 'ContainerCreating';
    throw new KubeletError(400, `container "${name}" in pod "${podName}" is waiting to start: ${waiting}`);
  }

  async isRunning(containerId: string): Promise<boolean> {
    const { status } = await this.opts.cri.containerStatus(containerId);
    return status.state === 'CONTAINER_RUNNING' || status.state === 'CONTAINER_CREATED';
  }

  /** The id of the pod's ready sandbox (port-forward goes into its network namespace). */
  async readySandbox(namespace: string, podName: string): Promise<string> {
    const pod = this.podByName(namespace, podName);
    const sandbox = (await this.runtime.pod(pod.metadata!.uid!)).sandboxes.find((s) => s.ready);
    if (!sandbox) throw new KubeletError(400, `pod "${podName}" has no running sandbox`);
    return sandbox.id;
  }

  /** Pods currently handled (for the benchmark and tests). */
  get podCount(): number {
    return this.workers.size;
  }

  private async setUpNetwork(): Promise<void> {
    const podCIDR = await this.reporter.podCIDR();
    if (this.abort.signal.aborted) return;
    if (this.opts.cniNetwork === false) {
      // Bring your own CNI: ours must not shadow it (containerd reads the first file by name).
      removeCniConfig(this.opts.cniConfDir);
      log.info({ podCIDR, dir: this.opts.cniConfDir }, 'flannel backend none: pods wait for the CNI config you install');
    } else {
      const file = writeCniConfig(this.opts.cniConfDir, {
        podCIDR,
        bridge: this.opts.cniBridge,
        ipamDataDir: path.join(this.opts.dataDir, 'agent', 'cni'),
        ...this.opts.cniNetwork,
      });
      log.info({ podCIDR, file }, 'pod network configured');
    }
    // containerd notices the config within a moment; say Ready as soon as it has.
    for (let i = 0; i < 50 && !this.abort.signal.aborted; i++) {
      const status = await this.opts.cri.status().catch(() => undefined);
      if ((status?.status?.conditions as { type: string; status: boolean }[] | undefined)?.find((c) => c.type === 'NetworkReady')?.status)
        break;
      await sleep(200, this.abort.signal);
    }
    await this.reporter.refresh();
  }

  /** Wakes the workers of pods whose containers changed; cleans up after pods the API no longer has. */
  private async relistLoop(worker: (uid: string) => PodWorker): Promise<void> {
    const signal = this.abort.signal;
    let lastResync = Date.now();
    let lastRotation = Date.now();
    while (!signal.aborted) {
      try {
        const [sandboxes, containers] = await Promise.all([this.opts.cri.listPodSandbox(), this.opts.cri.listContainers()]);
        const seen = new Map<string, string>();
        for (const x of [...sandboxes, ...containers]) {
          const uid = x.labels?.[POD_UID] as string | undefined;
          if (uid) seen.set(uid, `${seen.get(uid) ?? ''}${x.id}:${x.state},`);
        }
        const resync = Date.now() - lastResync >= (this.opts.resyncMs ?? 60_000);
        if (resync) lastResync = Date.now();
        for (const [uid, signature] of seen) {
          if (signature === this.lastSeen.get(uid) && !resync) continue;
          const known = this.informer.byIndex('uid', uid).length > 0;
          // A pod the API does not have any more: its worker removes what is left.
          if (!known && !this.workers.has(uid)) worker(uid).update(undefined);
          else this.workers.get(uid)?.poke();
        }
        if (resync) for (const w of this.workers.values()) w.poke();
        if (Date.now() - lastRotation >= LOG_ROTATION_MS) {
          lastRotation = Date.now();
          await rotateLogs(
            this.opts.cri,
            this.runtime.runningLogs(),
            this.opts.kubeletArgs.containerLogMaxSize,
            this.opts.kubeletArgs.containerLogMaxFiles,
          );
        }
        this.lastSeen = seen;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'containerd relist failed');
      }
      await sleep(RELIST_MS, signal);
    }
  }
}
