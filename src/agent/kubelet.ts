// The node agent proper (what Kubernetes calls the kubelet): the Node and its Lease, the CNI network
// once the server has given the node its pod range, and a worker per pod bound to the node.
// containerd's events wake the worker of a pod whose containers changed on their own (exited, died);
// a relist of the node when the event stream connects and every minute catches what events missed,
// and sandboxes and containers of pods the API no longer has are removed.
import os from 'node:os';
import path from 'node:path';
import { EventRecorder } from '../client/event-recorder.js';
import { Informer } from '../client/informer.js';
import type { ApiClient } from '../client/rest-client.js';
import { pods, type Writable } from '../client/resources.js';
import type { Taint } from 'kubernetes-types/core/v1.js';
import { sleep } from '../client/sleep.js';
import type { CriClient } from '../cri/client.js';
import { followEvents } from '../cri/events.js';
import { log } from '../log.js';
import { removeCniConfig, writeCniConfig } from './cni.js';
import { hostFacts } from './node-facts.js';
import { NodeReporter } from './node-reporter.js';
import { Backoff } from './pods/backoff.js';
import type { P } from './pods/labels.js';
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

/** The safety relist (events may be missed; the event stream connecting again relists at once). */
const RELIST_MS = 60_000;
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

  /** Stops the agent's loops, once the checkpoint is on the disk; containers keep running (a restarted agent adopts them). */
  async stop(): Promise<void> {
    this.abort.abort();
    this.reporter.stop();
    this.informer.stop();
    this.sources.stop();
    for (const w of this.workers.values()) w.stop();
    await this.checkpoint.flushed();
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

  /**
   * Follows containerd's events, waking the workers of pods whose containers changed; relists the node
   * when the event stream (re)connects and every minute, which also finds pods the API no longer has
   * (a worker removes what is left of each); resyncs every pod now and then and rotates logs.
   */
  private async relistLoop(worker: (uid: string) => PodWorker): Promise<void> {
    const signal = this.abort.signal;
    // Only a pod missing from the API's list is gone (not one the API has not listed yet: started offline).
    let podsListed = false;
    const orphan = (uid: string) => podsListed && this.informer.byIndex('uid', uid).length === 0 && !this.workers.has(uid);
    this.runtime.changed = (uid) => {
      if (!orphan(uid)) this.workers.get(uid)?.poke();
      else if (this.runtime.has(uid)) worker(uid).update(undefined);
    };
    let relistAt = Date.now() + RELIST_MS;
    let wake = () => {};
    const relistNow = () => {
      relistAt = 0;
      wake();
    };
    void this.informer.synced().then(() => {
      podsListed = true;
      relistNow();
    });
    const connected = () => {
      this.runtime.images.forget();
      relistNow();
    };
    followEvents(this.opts.cri, { event: (e) => this.runtime.handle(e), connected }, signal);
    const resyncMs = this.opts.resyncMs ?? 60_000;
    let resyncAt = Date.now() + resyncMs;
    let rotateAt = Date.now() + LOG_ROTATION_MS;
    while (!signal.aborted) {
      try {
        if (Date.now() >= relistAt) {
          relistAt = Date.now() + RELIST_MS;
          const { changed, seen } = await this.runtime.relist();
          for (const uid of seen) if (orphan(uid)) worker(uid).update(undefined);
          for (const uid of changed) this.workers.get(uid)?.poke();
        }
        if (Date.now() >= resyncAt) {
          resyncAt = Date.now() + resyncMs;
          for (const w of this.workers.values()) w.poke();
        }
        if (Date.now() >= rotateAt) {
          rotateAt = Date.now() + LOG_ROTATION_MS;
          await rotateLogs(
            this.opts.cri,
            this.runtime.runningLogs(),
            this.opts.kubeletArgs.containerLogMaxSize,
            this.opts.kubeletArgs.containerLogMaxFiles,
          );
        }
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'containerd relist failed');
      }
      await new Promise<void>((resolve) => {
        wake = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, Math.min(relistAt, resyncAt, rotateAt) - Date.now()));
        signal.addEventListener('abort', wake);
      });
    }
  }
}
