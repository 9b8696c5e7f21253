// Node IPAM: every node gets its own /24 of --cluster-cidr (10.42.0.0/16 by default) as
// spec.podCIDR, which its agent hands to pods through CNI. Ranges in use are read back from the
// nodes themselves, so a restart or a new leader never hands one out twice.
import { intToIp, ipToInt } from '../k8s/ipv4.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { ignoreNotFound } from '../k8s/errors.js';
import type { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { nodes, type Writable, withType } from '../client/resources.js';
import { QueueController, type ControllerContext } from './runner.js';

type Node = Writable<import('kubernetes-types/core/v1.js').Node>;

const NODE_MASK = 24;

export class NodeIpamController extends QueueController {
  readonly name = 'node-ipam';
  private readonly nodes: Informer<Node>;
  private readonly client: ResourceClient<Node>;
  private readonly recorder: EventRecorder;
  private readonly base: number;
  private readonly blocks: number;

  constructor(ctx: ControllerContext, clusterCIDR: string) {
    super();
    // One worker: two nodes must never be given the same range.
    this.workers = 1;
    const [ip, bits] = clusterCIDR.split('/');
    this.base = ipToInt(ip!) & ~(2 ** (32 - Number(bits)) - 1);
    this.blocks = 2 ** (NODE_MASK - Number(bits));
    this.client = ctx.client('node-controller').as('node-ipam-controller').resource(nodes);
    this.recorder = ctx.recorder('node-ipam-controller');
    const check = (n: Node) => !n.spec?.podCIDR && this.queue.add(n.metadata!.name!);
    this.nodes = ctx.informers.for(nodes).on({ add: check, update: (_o, n) => check(n) });
  }

  private blockOf(cidr: string | undefined): number | undefined {
    if (!cidr) return undefined;
    const n = (ipToInt(cidr.split('/')[0]!) - this.base) / 2 ** (32 - NODE_MASK);
    return Number.isInteger(n) && n >= 0 && n < this.blocks ? n : undefined;
  }

  protected async reconcile(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node || node.spec?.podCIDR || node.metadata?.deletionTimestamp) return;
    const used = new Set(this.nodes.list().map((n) => this.blockOf(n.spec?.podCIDR)));
    let block = 0;
    while (block < this.blocks && used.has(block)) block++;
    if (block >= this.blocks) {
      this.recorder.event(withType(nodes, node), 'Warning', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
      return;
    }
    const podCIDR = `${intToIp(this.base + block * 2 ** (32 - NODE_MASK))}/${NODE_MASK}`;
    await this.client.patch(undefined, name, { spec: { podCIDR, podCIDRs: [podCIDR] } }).catch(ignoreNotFound);
    this.recorder.event(withType(nodes, node), 'Normal', 'CIDRAssignmentSucceeded', `Node ${name} was assigned the pod range ${podCIDR}`);
  }
}
