// A hollow node: a Node without containers, for tests and the scale benchmark. It registers with a
// configurable capacity, renews its Lease in kube-node-lease, reports pods bound to it Running and
// Ready (pods that run to completion finish after a moment: succeed, or fail with the exit code the
// pod's hollow.skiff.io/exit-code annotation names), and removes pods marked for deletion
// at once. Stopping it stops the heartbeat, which is how a test loses a node.
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { isConflict, isNotFound } from '../k8s/errors.js';
import { Informer, keyOf } from '../client/informer.js';
import type { ApiClient, ResourceClient } from '../client/rest-client.js';
import { pods, type Writable } from '../client/resources.js';
import { sleep } from '../client/sleep.js';
import { log } from '../log.js';
import { nowTimestamp } from '../k8s/time.js';
import { NodeReporter } from './node-reporter.js';
import { goArch } from './oci-image.js';
import { KUBELET_VERSION } from './node-facts.js';

export interface HollowNodeOptions {
  name: string;
  capacity?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: Writable<import('kubernetes-types/core/v1.js').Taint>[];
  /** How often the Lease is renewed (Kubernetes: 10 s). */
  leaseRenewMs?: number;
  /** How long a pod with restartPolicy Never/OnFailure runs before it succeeds. */
  completeAfterMs?: number;
}

/** A condition's lastProbeTime as the kubelet writes it, null; kubernetes-types says a time is a string. */
const NEVER_PROBED = null as unknown as string;

/** Tests make a hollow pod fail with this annotation (its value is the exit code). */
export const EXIT_CODE = 'hollow.skiff.io/exit-code';
/** ... and run this many milliseconds before finishing (instead of completeAfterMs). */
export const RUN_MS = 'hollow.skiff.io/run-ms';

const DEFAULT_CAPACITY = { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '50Gi' };

export class HollowNode {
  private readonly podClient: ResourceClient<Writable<Pod>>;
  private readonly reporter: NodeReporter;
  private readonly abort = new AbortController();
  private informer?: Informer<Writable<Pod>>;
  private readonly handled = new Set<string>();
  private nextIp = 2;
  readonly hostIP: string;

  constructor(
    api: ApiClient,
    private readonly opts: HollowNodeOptions,
  ) {
    const client = api.as(`hollow-node-${opts.name}`);
    this.podClient = client.resource(pods);
    let h = 0;
    for (const ch of opts.name) h = (h * 31 + ch.charCodeAt(0)) % 250;
    this.hostIP = `10.201.${h}.1`;
    const capacity = { ...DEFAULT_CAPACITY, ...opts.capacity };
    const facts = {
      capacity,
      addresses: [
        { type: 'InternalIP', address: this.hostIP },
        { type: 'Hostname', address: opts.name },
      ],
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: 'hollow',
        osImage: 'Skiff hollow node',
        containerRuntimeVersion: 'hollow://1.0.0',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: goArch(),
      },
    };
    this.reporter = new NodeReporter(client, {
      name: opts.name,
      labels: { 'node.kubernetes.io/instance-type': 'hollow', ...opts.labels },
      taints: opts.taints,
      leaseRenewMs: opts.leaseRenewMs,
      facts: async () => facts,
    });
  }

  get name(): string {
    return this.opts.name;
  }

  async start(): Promise<void> {
    await this.reporter.start();
    this.informer = new Informer(this.podClient, { fieldSelector: `spec.nodeName=${this.opts.name}` });
    this.informer.on({
      add: (p) => void this.sync(p),
      update: (_o, p) => void this.sync(p),
      delete: (p) => this.handled.delete(p.metadata!.uid!),
    });
    this.informer.start();
    await this.informer.synced();
  }

  /** Stops the heartbeat and pod handling; the Node object stays, as when a machine dies. */
  stop(): void {
    this.abort.abort();
    this.reporter.stop();
    this.informer?.stop();
  }

  private async sync(pod: Writable<Pod>): Promise<void> {
    if (this.abort.signal.aborted) return;
    const uid = pod.metadata!.uid!;
    try {
      if (pod.metadata?.deletionTimestamp) {
        await this.podClient.delete(pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid } });
        return;
      }
      const phase = pod.status?.phase;
      if (this.handled.has(uid) || phase === 'Running' || phase === 'Succeeded' || phase === 'Failed') return;
      this.handled.add(uid);
      await this.podClient.updateStatus({ ...pod, status: this.runningStatus(pod) });
      if (pod.spec?.restartPolicy === 'Never' || pod.spec?.restartPolicy === 'OnFailure') {
        await sleep(Number(pod.metadata?.annotations?.[RUN_MS] ?? this.opts.completeAfterMs ?? 1000), this.abort.signal);
        if (this.abort.signal.aborted) return;
        const current = await this.podClient.get(pod.metadata!.namespace, pod.metadata!.name!);
        if (current.metadata?.uid === uid && !current.metadata.deletionTimestamp)
          await this.podClient.updateStatus({ ...current, status: this.finishedStatus(current) });
      }
    } catch (err) {
      this.handled.delete(uid);
      if (isNotFound(err)) return;
      // Changed meanwhile (its node marked not ready, say): a newer copy that arrived while this
      // update was in flight was skipped, so it is tried now; one not here yet comes as an update.
      const latest = this.informer?.get(keyOf(pod));
      if (isConflict(err) && latest && latest.metadata?.resourceVersion !== pod.metadata?.resourceVersion) return this.sync(latest);
      log.warn({ node: this.opts.name, pod: keyOf(pod), err: (err as Error).message }, 'hollow node: pod status update failed');
    }
  }

  private runningStatus(pod: Writable<Pod>): Writable<Pod>['status'] {
    const t = nowTimestamp();
    // An address in the node's pod range (from the server's node IPAM), or a made-up one before it has one.
    const podCIDR = this.reporter.node()?.spec?.podCIDR;
    const prefix = podCIDR ? podCIDR.split('.').slice(0, 3).join('.') : `10.202.${this.hostIP.split('.')[2]}`;
    const podIP = `${prefix}.${(this.nextIp++ % 250) + 2}`;
    const cond = (type: string): Writable<PodCondition> => ({ type, status: 'True', lastProbeTime: NEVER_PROBED, lastTransitionTime: t });
    return {
      phase: 'Running',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(cond),
      hostIP: this.hostIP,
      hostIPs: [{ ip: this.hostIP }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: t,
      qosClass: pod.status?.qosClass ?? 'BestEffort',
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: `hollow://${c.image}`,
        containerID: `hollow://${pod.metadata!.uid}/${c.name}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: t } },
      })),
    };
  }

  /** Succeeded, or Failed with the exit code the pod's `hollow.skiff.io/exit-code` annotation asks for. */
  private finishedStatus(pod: Writable<Pod>): Writable<Pod>['status'] {
    const t = nowTimestamp();
    const exitCode = Number(pod.metadata?.annotations?.[EXIT_CODE] ?? 0) || 0;
    const notReady = (type: string) => ({ type, status: 'False', reason: exitCode ? 'PodFailed' : 'PodCompleted', lastTransitionTime: t });
    return {
      ...pod.status,
      phase: exitCode ? 'Failed' : 'Succeeded',
      conditions: [
        ...(pod.status?.conditions ?? []).filter((c) => c.type !== 'Ready' && c.type !== 'ContainersReady'),
        notReady('Ready'),
        notReady('ContainersReady'),
      ],
      containerStatuses: (pod.status?.containerStatuses ?? []).map((s) => ({
        ...s,
        ready: false,
        started: false,
        state: {
          terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: s.state?.running?.startedAt, finishedAt: t },
        },
      })),
    };
  }
}
