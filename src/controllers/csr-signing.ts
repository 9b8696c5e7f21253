// csrsigning (kube-controller-manager's): signs approved requests for the signers Skiff serves with
// the cluster's client CA, kubernetes.io/kube-apiserver-client-kubelet (nodes' client certificates)
// and kubernetes.io/kube-apiserver-client (users'), for --cluster-signing-duration or the shorter
// spec.expirationSeconds. A request the signer must refuse gets a Failed condition, as upstream's.
import type { Informer } from '../client/informer.js';
import type { ApiClient } from '../client/rest-client.js';
import { certificateSigningRequests } from '../client/resources.js';
import { isConflict, isNotFound } from '../k8s/errors.js';
import { nowTimestamp } from '../k8s/time.js';
import {
  type CertificateSigner,
  clientProblem,
  CLIENT_SIGNER,
  type Csr,
  hasCondition,
  kubeletClientProblem,
  requestPem,
} from './certificates.js';
import { KUBELET_CLIENT_SIGNER } from '../k8s/nodes.js';
import { QueueController, type ControllerContext } from './runner.js';

export class CsrSigningController extends QueueController {
  readonly name = 'csrsigning';
  private readonly csrs: Informer<Csr>;
  private readonly client: ApiClient;

  constructor(
    ctx: ControllerContext,
    private readonly signer: CertificateSigner,
    private readonly durationMs: number,
  ) {
    super();
    this.client = ctx.client('certificate-controller');
    const queue = (csr: Csr) => this.queue.add(csr.metadata!.name!);
    this.csrs = ctx.informers.for(certificateSigningRequests).on({ add: queue, update: (_o, csr) => queue(csr) });
  }

  protected async reconcile(name: string): Promise<void> {
    const csr = this.csrs.get(name);
    if (!csr || !hasCondition(csr, 'Approved') || hasCondition(csr, 'Denied') || hasCondition(csr, 'Failed') || csr.status?.certificate)
      return;
    const signerName = csr.spec?.signerName;
    if (signerName !== KUBELET_CLIENT_SIGNER && signerName !== CLIENT_SIGNER) return;
    const usages = csr.spec?.usages ?? [];
    const pem = requestPem(csr);
    let problem: string | undefined;
    try {
      const subject = await this.signer.inspect(pem);
      problem = signerName === KUBELET_CLIENT_SIGNER ? kubeletClientProblem(subject, usages) : clientProblem(usages);
    } catch (err) {
      problem = (err as Error).message;
    }
    const requested = csr.spec?.expirationSeconds;
    const durationMs = requested !== undefined ? Math.min(requested * 1000, this.durationMs) : this.durationMs;
    const status = { ...csr.status };
    if (problem) {
      const now = nowTimestamp();
      const failed = {
        type: 'Failed',
        status: 'True',
        reason: 'SignerValidationFailure',
        message: problem,
        lastUpdateTime: now,
        lastTransitionTime: now,
      };
      status.conditions = [...(status.conditions ?? []), failed];
    } else {
      status.certificate = Buffer.from(await this.signer.sign(pem, usages, durationMs)).toString('base64');
    }
    try {
      await this.client.resource(certificateSigningRequests).updateStatus({ ...csr, status });
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) throw err;
    }
  }
}
