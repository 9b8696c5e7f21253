// tokencleaner (kube-controller-manager's): deletes bootstrap tokens (Secrets of type
// bootstrap.kubernetes.io/token in kube-system) once their expiration has passed, so that
// `skiff token create --ttl` means what it says even for tokens nobody uses again.
import { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { secrets, type Writable } from '../client/resources.js';
import { isNotFound } from '../k8s/errors.js';
import { log } from '../log.js';
import { QueueController, type ControllerContext } from './runner.js';
import { onAbort } from '../k8s/abort.js';

type Secret = Writable<import('kubernetes-types/core/v1.js').Secret>;

export const BOOTSTRAP_TOKEN_TYPE = 'bootstrap.kubernetes.io/token';
const NAMESPACE = 'kube-system';

/** When a bootstrap token Secret expires (ms since the epoch), or undefined if never or unreadable. */
export function tokenExpiry(secret: Secret): number | undefined {
  const raw = secret.data?.expiration;
  if (!raw) return undefined;
  const at = Date.parse(Buffer.from(raw, 'base64').toString('utf8'));
  return Number.isNaN(at) ? undefined : at;
}

export class TokenCleaner extends QueueController {
  readonly name = 'tokencleaner';
  private readonly tokens: Informer<Secret>;
  private readonly client: ResourceClient<Secret>;

  constructor(
    ctx: ControllerContext,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.client = ctx.client('token-cleaner').resource(secrets);
    const queue = (s: Secret) => s.metadata?.namespace === NAMESPACE && this.queue.add(s.metadata.name!);
    this.tokens = new Informer(ctx.api.resource(secrets), { namespace: NAMESPACE, fieldSelector: `type=${BOOTSTRAP_TOKEN_TYPE}` }).on({
      add: queue,
      update: (_o, s) => queue(s),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    onAbort(signal, () => this.tokens.stop());
    await this.tokens.start().synced();
    return super.run(signal);
  }

  protected async reconcile(name: string): Promise<void> {
    const secret = this.tokens.get(`${NAMESPACE}/${name}`);
    if (!secret || secret.metadata?.deletionTimestamp) return;
    const expiry = tokenExpiry(secret);
    if (expiry === undefined) return;
    const left = expiry - this.now();
    if (left > 0) return this.queue.addAfter(name, left + 1000);
    log.info({ secret: `${NAMESPACE}/${name}` }, 'Deleting expired secret');
    await this.client.delete(NAMESPACE, name, { preconditions: { uid: secret.metadata!.uid } }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }
}
