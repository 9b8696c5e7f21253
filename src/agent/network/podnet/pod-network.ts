// The pod network across nodes, what K3s gets from flannel: every node's pod range reachable from
// every other node, its pods and its host. An informer on Nodes drives one reconcile loop (debounced,
// and again every minute to repair drift): this node's VTEP (vxlan) and its published end in its own
// Node's flannel annotations, then the routes, neighbours and FDB entries for every other node that
// has published its end, computed from the informer and diffed against what the kernel has (so a
// restarted agent converges without flushing entries that work), then the masquerading rules.
// Nodes that leave take their entries with them. Stopping leaves the kernel as it is.
import type { Node } from 'kubernetes-types/core/v1.js';
import { EventRecorder } from '../../../client/event-recorder.js';
import { Informer } from '../../../client/informer.js';
import type { ApiClient, ResourceClient } from '../../../client/rest-client.js';
import { nodes, type Writable } from '../../../client/resources.js';
import { log } from '../../../log.js';
import type { NodeNetworkSettings } from '../settings.js';
import { desiredState, isEmptyPlan, plan } from './desired-state.js';
import {
  type ActiveBackend,
  BACKEND_DATA,
  annotationChanges,
  flannelAnnotations,
  leaseOf,
  VXLAN_DEVICE,
  vtepMACOf,
} from './flannel-annotations.js';
import { applyPlan, readKernelState, readLinks, setSysctl } from './kernel.js';
import { applyNftScript, masqueradeScript, masqueradeTableExists } from './masquerade.js';
import { chooseUplink, onSegment, podMTU, VXLAN_OVERHEAD } from './uplink.js';
import { ensureVtep, removeVtep } from './vxlan-device.js';

const DEBOUNCE_MS = 100;
const RESYNC_MS = 60_000;
const MAX_RETRY_MS = 30_000;

/** What decides a node's entries: a change to anything else (its status, say) needs no reconcile. */
const fingerprint = (n: Node) => JSON.stringify([n.spec?.podCIDR, n.spec?.podCIDRs, n.metadata?.annotations]);

export class PodNetwork {
  private readonly informer: Informer<Writable<Node>>;
  private readonly nodeClient: ResourceClient<Writable<Node>>;
  private readonly recorder: EventRecorder;
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = false;
  private failures = 0;
  private appliedScript = '';
  /** Problems already reported (log line and event), each once until it clears. */
  private reported = new Set<string>();
  /** Resolves after each reconcile (tests and the agent's start wait on it). */
  private readonly settled: (() => void)[] = [];

  constructor(
    api: ApiClient,
    private readonly s: NodeNetworkSettings,
    private readonly backend: ActiveBackend,
  ) {
    const client = api.as('flannel');
    this.nodeClient = client.resource(nodes);
    this.informer = new Informer(this.nodeClient);
    this.recorder = new EventRecorder(client, 'flannel', s.nodeName);
  }

  start(): this {
    this.informer.on({
      add: () => this.schedule(),
      update: (old, n) => fingerprint(old) !== fingerprint(n) && this.schedule(),
      delete: () => this.schedule(),
    });
    this.informer.start();
    void this.informer.synced().then(() => this.schedule(0));
    return this;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.informer.stop();
  }

  /** Resolves once a reconcile that starts after this call has finished. */
  nextReconcile(): Promise<void> {
    return new Promise((resolve) => this.settled.push(resolve));
  }

  private schedule(delay = DEBOUNCE_MS): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), delay);
  }

  private async run(): Promise<void> {
    this.running = true;
    this.again = false;
    const waiting = this.settled.splice(0);
    let next = RESYNC_MS;
    try {
      await this.reconcile();
      this.failures = 0;
    } catch (err) {
      this.failures++;
      next = Math.min(1000 * 2 ** (this.failures - 1), MAX_RETRY_MS);
      this.reportOnce('error', `pod network: ${(err as Error).message}; retrying in ${next / 1000} s`);
    }
    this.running = false;
    for (const resolve of waiting) resolve();
    if (this.again) next = 0;
    this.schedule(next);
  }

  private async reconcile(): Promise<void> {
    const { nodeName, cluster } = this.s;
    const own = this.informer.get(nodeName);
    const podCIDR = own?.spec?.podCIDR;
    if (!own || !podCIDR) return; // the node's informer event brings us back once the range is assigned
    const uplink = chooseUplink(await readLinks(), this.s.nodeIP, this.s.flannelIface);
    setSysctl('net/ipv4/ip_forward', '1');

    let vtepMAC: string | undefined;
    if (this.backend === 'vxlan') {
      const stored = vtepMACOf(own.metadata?.annotations?.[BACKEND_DATA]);
      const vtep = await ensureVtep({ uplink: uplink.iface, local: uplink.publicIP, mtu: uplink.mtu - VXLAN_OVERHEAD, mac: stored });
      if (vtep.action !== 'kept')
        log.info({ device: VXLAN_DEVICE, mac: vtep.mac, uplink: uplink.iface, why: vtep.why }, `VTEP ${vtep.action}`);
      vtepMAC = vtep.mac;
    } else if (await removeVtep()) log.info({ device: VXLAN_DEVICE }, 'VTEP removed: the backend is host-gw');

    const changes = annotationChanges(own, flannelAnnotations({ backend: this.backend, publicIP: uplink.publicIP, vtepMAC }));
    if (Object.keys(changes).length) {
      await this.nodeClient.patch(undefined, nodeName, { metadata: { annotations: changes } });
      log.info({ node: nodeName, annotations: changes }, 'pod network: published this node’s end');
    }

    const leases = this.informer.list().flatMap((n) => leaseOf(n) ?? []);
    const want = desiredState(
      {
        name: nodeName,
        backend: this.backend,
        clusterCIDR: cluster.clusterCIDR,
        podCIDR,
        iface: uplink.iface,
        onSegment: (addr) => onSegment(uplink, addr),
      },
      leases,
    );
    this.reportSkipped(own, want.skipped);
    const have = await readKernelState(this.backend === 'vxlan');
    const p = plan(cluster.clusterCIDR, want, have);
    if (!isEmptyPlan(p)) {
      log.info({ remove: p.ipRemove, fdb: p.bridge, add: p.ipAdd }, 'pod network: kernel entries updated');
      await applyPlan(p);
    }

    const script = masqueradeScript({ clusterCIDR: cluster.clusterCIDR, podCIDR });
    if (script !== this.appliedScript || !(await masqueradeTableExists())) {
      await applyNftScript(script);
      this.appliedScript = script;
    }
    this.clearReported('error');
  }

  private reportSkipped(own: Writable<Node>, skipped: { node: string; reason: string }[]): void {
    const now = new Set(skipped.map((s) => `skip:${s.node}:${s.reason}`));
    for (const key of this.reported) if (key.startsWith('skip:') && !now.has(key)) this.reported.delete(key);
    for (const { node, reason } of skipped) {
      const key = `skip:${node}:${reason}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const message = `pods on node ${node} are unreachable from this node: ${reason}`;
      log.warn({ node: this.s.nodeName, peer: node }, message);
      this.recorder.event({ apiVersion: 'v1', kind: 'Node', ...own }, 'Warning', 'PodNetworkUnreachable', message);
    }
  }

  private reportOnce(key: string, message: string): void {
    const full = `${key}:${message}`;
    if (this.reported.has(full)) return;
    for (const k of this.reported) if (k.startsWith(`${key}:`)) this.reported.delete(k);
    this.reported.add(full);
    log.warn({ node: this.s.nodeName }, message);
  }

  private clearReported(key: string): void {
    for (const k of this.reported) if (k.startsWith(`${key}:`)) this.reported.delete(k);
  }
}

/** How the agent's own CNI config should look under the chosen backend; `undefined`: write none (backend none). */
export async function podNetworkCni(
  s: Pick<NodeNetworkSettings, 'nodeIP' | 'flannelIface' | 'cluster'>,
): Promise<{ ipMasq: boolean; mtu?: number } | undefined> {
  const backend = s.cluster.flannelBackend;
  if (backend === 'none') return undefined;
  try {
    return { ipMasq: false, mtu: podMTU(chooseUplink(await readLinks(), s.nodeIP, s.flannelIface), backend) };
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'pod network: could not choose the uplink; pods keep the default MTU');
    return { ipMasq: false };
  }
}

/** The network part: nothing at all under `--flannel-backend none` (the user's CNI does it). */
export async function startPodNetwork(api: ApiClient, s: NodeNetworkSettings): Promise<{ stop(): void }> {
  const backend = s.cluster.flannelBackend;
  if (backend === 'none') {
    log.info('flannel backend none: the pod network across nodes is left to the CNI you install');
    return { stop() {} };
  }
  const net = new PodNetwork(api, s, backend).start();
  return { stop: () => net.stop() };
}
