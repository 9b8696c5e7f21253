// The token controller (kube-controller-manager's serviceaccount-token): a Secret of type
// kubernetes.io/service-account-token that a user creates for a service account (annotation
// kubernetes.io/service-account.name) gets a long-lived token for it, the cluster CA and the
// namespace, and the account's uid in kubernetes.io/service-account.uid. Such Secrets are never made
// on their own (upstream stopped in 1.24): only when asked for. A Secret whose service account is
// gone (or was replaced: another uid) is deleted, and the token with it.
import { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { secrets, serviceAccounts, type Writable } from '../client/resources.js';
import { isConflict, isNotFound } from '../k8s/errors.js';
import { QueueController, type ControllerContext } from './runner.js';
import { onAbort } from '../k8s/abort.js';

type Secret = Writable<import('kubernetes-types/core/v1.js').Secret>;
type ServiceAccount = Writable<import('kubernetes-types/core/v1.js').ServiceAccount>;

export const SERVICE_ACCOUNT_TOKEN_TYPE = 'kubernetes.io/service-account-token';
export const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid';

/** Signs the legacy token of a Secret (issuer kubernetes/serviceaccount, no expiry). */
export type LegacyTokenIssuer = (claims: {
  namespace: string;
  serviceAccountName: string;
  serviceAccountUid: string;
  secretName: string;
}) => Promise<string>;

const b64 = (s: string) => Buffer.from(s).toString('base64');

export class ServiceAccountTokenController extends QueueController {
  readonly name = 'serviceaccount-token';
  private readonly tokenSecrets: Informer<Secret>;
  private readonly accounts: Informer<ServiceAccount>;
  private readonly secretClient: ResourceClient<Secret>;
  private readonly accountClient: ResourceClient<ServiceAccount>;

  constructor(
    ctx: ControllerContext,
    private readonly issue: LegacyTokenIssuer,
    private readonly caPem: string | undefined,
  ) {
    super();
    // Upstream runs it with the controller manager's own credentials.
    const api = ctx.api.as('tokens-controller');
    this.secretClient = api.resource(secrets);
    this.accountClient = api.resource(serviceAccounts);
    const queue = (s: Secret) => this.queue.add(`${s.metadata!.namespace}/${s.metadata!.name}`);
    this.tokenSecrets = new Informer(ctx.api.resource(secrets), { fieldSelector: `type=${SERVICE_ACCOUNT_TOKEN_TYPE}` }).on({
      add: queue,
      update: (_o, s) => queue(s),
    });
    this.tokenSecrets.addIndex('account', (s) => [`${s.metadata?.namespace}/${s.metadata?.annotations?.[SA_NAME_ANNOTATION] ?? ''}`]);
    const accountChanged = (sa: ServiceAccount) => {
      for (const s of this.tokenSecrets.byIndex('account', `${sa.metadata?.namespace}/${sa.metadata?.name}`)) queue(s);
    };
    this.accounts = ctx.informers
      .for(serviceAccounts)
      .on({ add: accountChanged, update: (_o, sa) => accountChanged(sa), delete: accountChanged });
  }

  async run(signal: AbortSignal): Promise<void> {
    onAbort(signal, () => this.tokenSecrets.stop());
    await this.tokenSecrets.start().synced();
    return super.run(signal);
  }

  /** The account as the cache has it, or as the API has it when the cache has not heard of it yet. */
  private async account(namespace: string, name: string): Promise<ServiceAccount | undefined> {
    const cached = this.accounts.get(`${namespace}/${name}`);
    if (cached) return cached;
    return this.accountClient.get(namespace, name).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
  }

  protected async reconcile(key: string): Promise<void> {
    const secret = this.tokenSecrets.get(key);
    if (!secret || secret.metadata?.deletionTimestamp) return;
    const namespace = secret.metadata!.namespace!;
    const annotations = secret.metadata?.annotations ?? {};
    const saName = annotations[SA_NAME_ANNOTATION] ?? '';
    const sa = saName ? await this.account(namespace, saName) : undefined;
    const uid = annotations[SA_UID_ANNOTATION];
    if (!sa || (uid && uid !== sa.metadata?.uid)) {
      await this.secretClient.delete(namespace, secret.metadata!.name!, { preconditions: { uid: secret.metadata!.uid } }).catch((err) => {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      });
      return;
    }
    const data = secret.data ?? {};
    if (data.token && uid && (!this.caPem || data['ca.crt']) && data.namespace) return;
    const saUid = sa.metadata!.uid!;
    const token =
      data.token && uid
        ? data.token
        : b64(await this.issue({ namespace, serviceAccountName: saName, serviceAccountUid: saUid, secretName: secret.metadata!.name! }));
    const next: Secret = {
      ...secret,
      metadata: { ...secret.metadata, annotations: { ...annotations, [SA_UID_ANNOTATION]: saUid } },
      data: { ...data, token, namespace: b64(namespace), ...(this.caPem ? { 'ca.crt': b64(this.caPem) } : {}) },
    };
    try {
      await this.secretClient.update(next);
    } catch (err) {
      // Changed or gone meanwhile: the informer queues it again if there is anything left to do.
      if (!isConflict(err) && !isNotFound(err)) throw err;
    }
  }
}
