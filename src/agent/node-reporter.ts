// A node's presence in the cluster, for hollow and real nodes alike: it registers the Node with its
// status (never seen without capacity), renews its Lease in kube-node-lease, and writes the status
// again only when something in it changed (conditions, capacity, addresses, versions), not on every
// beat: an idle node writes its Lease every 10 s and nothing else. While the server cannot be reached
// it tries again at each beat, and the agent goes on without it. It watches its own Node, so the
// pod range the server assigns reaches the agent, and a node-controller "Unknown" is answered at once.
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, NodeCondition, NodeStatus, Taint } from 'kubernetes-types/core/v1.js';
import { isDeepStrictEqual } from 'node:util';
import { microTimestamp, nowTimestamp } from '../k8s/time.js';
import { isAlreadyExists, isConflict, isNotFound } from '../k8s/errors.js';
import { Informer } from '../client/informer.js';
import type { ApiClient, ResourceClient } from '../client/rest-client.js';
import { leases, nodes, type Writable } from '../client/resources.js';
import { sleep } from '../client/sleep.js';
import { log } from '../log.js';

/** What a node says about itself; the reporter adds the times. */
export interface NodeFacts {
  capacity: Record<string, string>;
  allocatable?: Record<string, string>;
  addresses: { type: string; address: string }[];
  nodeInfo: Writable<NodeStatus>['nodeInfo'];
  /** Why the node is not ready, or undefined when it is. */
  notReady?: string;
  memoryPressure?: boolean;
  diskPressure?: boolean;
  pidPressure?: boolean;
}

export interface NodeReporterOptions {
  name: string;
  labels?: Record<string, string>;
  taints?: Writable<Taint>[];
  /** Kubernetes: 10 s. */
  leaseRenewMs?: number;
  /** Where the API server reaches the node's agent (default 10250). */
  kubeletPort?: number;
  facts(): Promise<NodeFacts>;
}

const PRESSURE = [
  {
    type: 'MemoryPressure',
    key: 'memoryPressure',
    ok: 'KubeletHasSufficientMemory',
    bad: 'KubeletHasInsufficientMemory',
    okMessage: 'kubelet has sufficient memory available',
    badMessage: 'kubelet has insufficient memory available',
  },
  {
    type: 'DiskPressure',
    key: 'diskPressure',
    ok: 'KubeletHasNoDiskPressure',
    bad: 'KubeletHasDiskPressure',
    okMessage: 'kubelet has no disk pressure',
    badMessage: 'kubelet has disk pressure',
  },
  {
    type: 'PIDPressure',
    key: 'pidPressure',
    ok: 'KubeletHasSufficientPID',
    bad: 'KubeletHasInsufficientPID',
    okMessage: 'kubelet has sufficient PID available',
    badMessage: 'kubelet has insufficient PID available',
  },
] as const;

type Condition = Writable<NodeCondition>;

/** The conditions `facts` call for, keeping each one's transition time while its status holds. */
function conditionsFor(facts: NodeFacts, previous: Condition[] = []): Condition[] {
  const now = nowTimestamp();
  const make = (type: string, status: string, reason: string, message: string): Condition => {
    const before = previous.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: before?.status === status ? (before.lastTransitionTime ?? now) : now,
    };
  };
  return [
    ...PRESSURE.map((p) => (facts[p.key] ? make(p.type, 'True', p.bad, p.badMessage) : make(p.type, 'False', p.ok, p.okMessage))),
    facts.notReady
      ? make('Ready', 'False', 'KubeletNotReady', facts.notReady)
      : make('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
}

/** The status fields a change of which is worth a write (heartbeat times are not). */
function essence(status: Writable<NodeStatus> | undefined) {
  const { capacity, allocatable, addresses, nodeInfo, conditions } = status ?? {};
  return { capacity, allocatable, addresses, nodeInfo, conditions: (conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]) };
}

export class NodeReporter {
  private readonly nodeClient: ResourceClient<Writable<Node>>;
  private readonly leaseClient: ResourceClient<Writable<Lease>>;
  private readonly abort = new AbortController();
  private readonly informer: Informer<Writable<Node>>;
  private readonly podCIDRWaiters: ((cidr: string) => void)[] = [];
  private lease?: Writable<Lease>;
  /** Status writes since start (the benchmark reports idle writes). */
  statusWrites = 0;

  constructor(
    api: ApiClient,
    private readonly opts: NodeReporterOptions,
  ) {
    this.nodeClient = api.resource(nodes);
    this.leaseClient = api.resource(leases);
    this.informer = new Informer(this.nodeClient, { fieldSelector: `metadata.name=${opts.name}` });
  }

  get name(): string {
    return this.opts.name;
  }

  /** The Node as last seen. */
  node(): Writable<Node> | undefined {
    return this.informer.get(this.opts.name);
  }

  /**
   * Registers the Node and keeps its Lease, trying again each beat while the server cannot be reached
   * (an agent runs its pods without it); resolves once the Node is registered and seen.
   */
  start(): Promise<void> {
    this.informer.on({ add: () => this.nodeChanged(), update: () => this.nodeChanged() });
    this.informer.start();
    return new Promise((registered) => void this.heartbeat(() => void this.informer.synced().then(registered)));
  }

  stop(): void {
    this.abort.abort();
    this.informer.stop();
  }

  /** Resolves with the node's spec.podCIDR once the server has assigned it. */
  podCIDR(): Promise<string> {
    const cidr = this.node()?.spec?.podCIDR;
    return cidr ? Promise.resolve(cidr) : new Promise((resolve) => this.podCIDRWaiters.push(resolve));
  }

  /** Checks the facts now (e.g. the network just became ready) rather than at the next beat. */
  async refresh(): Promise<void> {
    await this.reportStatus().catch((err: Error) => log.warn({ node: this.opts.name, err: err.message }, 'node status update failed'));
  }

  private nodeChanged(): void {
    const cidr = this.node()?.spec?.podCIDR;
    if (cidr) for (const resolve of this.podCIDRWaiters.splice(0)) resolve(cidr);
    // Someone else (the node controller) changed our conditions: answer with the truth.
    const status = this.node()?.status;
    if (status && status.conditions?.find((c) => c.type === 'Ready')?.reason === 'NodeStatusUnknown') void this.refresh();
  }

  private statusFrom(facts: NodeFacts, previous?: Writable<NodeStatus>): Writable<NodeStatus> {
    return {
      ...previous,
      capacity: facts.capacity,
      allocatable: facts.allocatable ?? facts.capacity,
      addresses: facts.addresses,
      nodeInfo: facts.nodeInfo,
      conditions: conditionsFor(facts, previous?.conditions),
      daemonEndpoints: { kubeletEndpoint: { Port: this.opts.kubeletPort ?? 10250 } },
    };
  }

  private async register(): Promise<void> {
    const facts = await this.opts.facts();
    const arch = facts.nodeInfo?.architecture ?? '';
    const labels = {
      'kubernetes.io/hostname': this.opts.name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': arch,
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': arch,
      ...this.opts.labels,
    };
    try {
      await this.nodeClient.create({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: this.opts.name, labels },
        spec: { taints: this.opts.taints },
        status: this.statusFrom(facts),
      });
      this.statusWrites++;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const node = await this.nodeClient.get(undefined, this.opts.name);
      await this.nodeClient.updateStatus({ ...node, status: this.statusFrom(facts, node.status) });
      this.statusWrites++;
    }
  }

  private async reportStatus(): Promise<void> {
    const node = this.node();
    if (!node) return;
    const facts = await this.opts.facts();
    const status = this.statusFrom(facts, node.status);
    if (isDeepStrictEqual(essence(status), essence(node.status))) return;
    // A patch, as the kubelet sends: the node controller may have written the Node since we last saw it.
    await this.nodeClient.patch(undefined, this.opts.name, { status }, 'merge', 'status');
    this.statusWrites++;
  }

  /** One write per renewal: the Lease from the last one is reused until someone else changes it. */
  private async renewLease(retry = true): Promise<void> {
    const name = this.opts.name;
    const spec = { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTimestamp() };
    try {
      this.lease ??= await this.leaseClient.get('kube-node-lease', name);
      this.lease = await this.leaseClient.update({ ...this.lease, spec: { ...this.lease.spec, ...spec } });
    } catch (err) {
      this.lease = undefined;
      if (isConflict(err) && retry) return this.renewLease(false);
      if (!isNotFound(err)) throw err;
      this.lease = await this.leaseClient.create({ metadata: { name, namespace: 'kube-node-lease' }, spec });
    }
  }

  private async heartbeat(registered: () => void): Promise<void> {
    const signal = this.abort.signal;
    let isRegistered = false;
    // Said once per outage, not at every beat (an agent may be cut off for days).
    let failing = false;
    while (!signal.aborted) {
      try {
        if (!isRegistered) {
          await this.register();
          await this.renewLease();
          isRegistered = true;
          registered();
        } else {
          await this.renewLease();
          await this.refresh();
        }
        if (failing) log.info({ node: this.opts.name }, 'the server answers again');
        failing = false;
      } catch (err) {
        const what = isRegistered ? 'node lease renewal failed' : 'cannot register the node yet';
        if (!failing) log.warn({ node: this.opts.name, err: (err as Error).message }, `${what}; trying again every beat`);
        failing = true;
      }
      await sleep(this.opts.leaseRenewMs ?? 10_000, signal);
    }
  }
}
