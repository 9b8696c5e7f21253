// Publishes the cluster CA as the `kube-root-ca.crt` ConfigMap in every active namespace, so pods
// (through projected service account volumes) can trust the API server; edits are put back.
import { isAlreadyExists, isNotFound } from '../k8s/errors.js';
import { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { configMaps, namespaces, type Writable } from '../client/resources.js';
import { QueueController, type ControllerContext } from './runner.js';
import { onAbort } from '../k8s/abort.js';

type Namespace = Writable<import('kubernetes-types/core/v1.js').Namespace>;
type ConfigMap = Writable<import('kubernetes-types/core/v1.js').ConfigMap>;

const NAME = 'kube-root-ca.crt';
/** The ConfigMap's kubernetes.io/description, as kube-controller-manager writes it. */
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP ' +
  'or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export class RootCaPublisher extends QueueController {
  readonly name = 'root-ca-cert-publisher';
  private readonly namespaces: Informer<Namespace>;
  private readonly maps: Informer<ConfigMap>;
  private readonly client: ResourceClient<ConfigMap>;

  constructor(
    ctx: ControllerContext,
    private readonly caPem: string,
  ) {
    super();
    this.client = ctx.client('root-ca-cert-publisher').resource(configMaps);
    this.namespaces = ctx.informers.for(namespaces).on({ add: (ns) => this.queue.add(ns.metadata!.name!) });
    const mine = (cm: ConfigMap) => this.queue.add(cm.metadata!.namespace!);
    // Only its own ConfigMaps: caching every ConfigMap in the cluster would cost memory for nothing.
    // Listed and watched as the manager, as shared informers are.
    this.maps = new Informer(ctx.api.resource(configMaps), { fieldSelector: `metadata.name=${NAME}` }).on({
      update: (_o, cm) => mine(cm),
      delete: mine,
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    onAbort(signal, () => this.maps.stop());
    await this.maps.start().synced();
    return super.run(signal);
  }

  protected async reconcile(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata?.deletionTimestamp) return;
    const current = this.maps.get(`${namespace}/${NAME}`);
    if (current?.data?.['ca.crt'] === this.caPem) return;
    try {
      if (current) await this.client.update({ ...current, data: { 'ca.crt': this.caPem } });
      else
        await this.client.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: NAME,
            namespace,
            annotations: {
              'kubernetes.io/description': DESCRIPTION,
            },
          },
          data: { 'ca.crt': this.caPem },
        });
    } catch (err) {
      if (!isAlreadyExists(err) && !isNotFound(err)) throw err;
    }
  }
}
