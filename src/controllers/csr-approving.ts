// csrapproving (kube-controller-manager's): approves the requests a kubelet makes for its client
// certificate, as upstream's sarApprover recognises them: a node renewing its own (the requester is
// system:node:<name> in system:nodes and asks for exactly that name: "selfnodeclient"), and a new
// node joining with a bootstrap credential (the requester is in system:bootstrappers, which only
// the join endpoint hands out after the token and the node password were checked: "nodeclient").
// Any other request waits for `kubectl certificate approve` or `deny`.
import type { Informer } from '../client/informer.js';
import type { ApiClient } from '../client/rest-client.js';
import { certificateSigningRequests } from '../client/resources.js';
import { isConflict, isNotFound } from '../k8s/errors.js';
import { nowTimestamp } from '../k8s/time.js';
import { type CertificateSigner, type Csr, hasCondition, kubeletClientProblem, requestPem } from './certificates.js';
import { KUBELET_CLIENT_SIGNER } from '../k8s/nodes.js';
import { QueueController, type ControllerContext } from './runner.js';

export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';

const SELF_MESSAGE = 'Auto approving self kubelet client certificate after SubjectAccessReview.';
const NODE_MESSAGE = 'Auto approving kubelet client certificate after SubjectAccessReview.';

export class CsrApprovingController extends QueueController {
  readonly name = 'csrapproving';
  private readonly csrs: Informer<Csr>;
  private readonly client: ApiClient;

  constructor(
    ctx: ControllerContext,
    private readonly signer: CertificateSigner,
  ) {
    super();
    this.client = ctx.client('certificate-controller');
    const queue = (csr: Csr) => this.queue.add(csr.metadata!.name!);
    this.csrs = ctx.informers.for(certificateSigningRequests).on({ add: queue, update: (_o, csr) => queue(csr) });
  }

  /** The approval message when the request is one to approve on its own, else undefined. */
  async recognise(csr: Csr): Promise<string | undefined> {
    if (csr.spec?.signerName !== KUBELET_CLIENT_SIGNER) return undefined;
    let subject: Awaited<ReturnType<CertificateSigner['inspect']>>;
    try {
      subject = await this.signer.inspect(requestPem(csr));
    } catch {
      return undefined; // the signer fails it
    }
    if (kubeletClientProblem(subject, csr.spec.usages ?? [])) return undefined;
    const groups = csr.spec.groups ?? [];
    if (csr.spec.username === subject.commonName && groups.includes('system:nodes')) return SELF_MESSAGE;
    if (groups.includes(BOOTSTRAPPERS_GROUP)) return NODE_MESSAGE;
    return undefined;
  }

  protected async reconcile(name: string): Promise<void> {
    const csr = this.csrs.get(name);
    if (!csr || hasCondition(csr, 'Approved') || hasCondition(csr, 'Denied') || csr.status?.certificate) return;
    const message = await this.recognise(csr);
    if (!message) return;
    const now = nowTimestamp();
    const condition = { type: 'Approved', status: 'True', reason: 'AutoApproved', message, lastUpdateTime: now, lastTransitionTime: now };
    const approved = { ...csr, status: { ...csr.status, conditions: [...(csr.status?.conditions ?? []), condition] } };
    try {
      await this.client.resource(certificateSigningRequests).subresource('PUT', undefined, name, 'approval', approved);
    } catch (err) {
      // Changed meanwhile: the informer brings the new version back to the queue. Gone: nothing to do.
      if (!isConflict(err) && !isNotFound(err)) throw err;
    }
  }
}
