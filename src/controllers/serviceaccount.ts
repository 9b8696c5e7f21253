// Every active namespace has a `default` ServiceAccount; deleted, it comes back.
import { isAlreadyExists } from '../k8s/errors.js';
import type { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { namespaces, serviceAccounts, type Writable } from '../client/resources.js';
import { QueueController, type ControllerContext } from './runner.js';

type Namespace = Writable<import('kubernetes-types/core/v1.js').Namespace>;
type ServiceAccount = Writable<import('kubernetes-types/core/v1.js').ServiceAccount>;

export class ServiceAccountController extends QueueController {
  readonly name = 'serviceaccount';
  private readonly namespaces: Informer<Namespace>;
  private readonly accounts: Informer<ServiceAccount>;
  private readonly client: ResourceClient<ServiceAccount>;

  constructor(ctx: ControllerContext) {
    super();
    this.client = ctx.client('service-account-controller').resource(serviceAccounts);
    this.namespaces = ctx.informers.for(namespaces).on({ add: (ns) => this.queue.add(ns.metadata!.name!) });
    this.accounts = ctx.informers
      .for(serviceAccounts)
      .on({ delete: (sa) => sa.metadata?.name === 'default' && this.queue.add(sa.metadata.namespace!) });
  }

  protected async reconcile(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata?.deletionTimestamp || this.accounts.get(`${namespace}/default`)) return;
    await this.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } }).catch((err) => {
      if (!isAlreadyExists(err)) throw err;
    });
  }
}
