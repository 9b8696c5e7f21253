// The node's client certificate, renewed before it expires, as the kubelet's certificate manager
// does: at a random point between 70% and 90% of its life the agent makes a new key and asks for a
// new certificate through a CertificateSigningRequest (kubernetes.io/kube-apiserver-client-kubelet)
// made with the certificate it still has, which the approving controller approves for a node
// renewing its own. The new pair is written to <data-dir>/agent and the API client switches to it;
// a failed attempt is tried again with backoff, for as long as the old certificate lasts and after.
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import type { ApiClient } from '../client/rest-client.js';
import { certificateSigningRequests } from '../client/resources.js';
import type { HttpsTarget } from '../client/transport.js';
import { sleep } from '../client/sleep.js';
import { KUBELET_CLIENT_SIGNER, nodeUser } from '../k8s/nodes.js';
import { log } from '../log.js';
import { createCertificateRequest, validity } from '../pki/csr.js';
import { agentFiles, writeAtomic } from './join.js';

/** When to renew: notBefore + 70..90% of the certificate's life (`random` in [0, 1)). */
export function renewalDeadline(certPem: string, random = Math.random()): number {
  const { notBefore, notAfter } = validity(certPem);
  return notBefore + (notAfter - notBefore) * (0.7 + 0.2 * random);
}

export interface RotationOptions {
  nodeName: string;
  dataDir: string;
  /** Told of each new certificate (tests, logs). */
  onRotated?: (certPem: string) => void;
  /** How often the issued certificate is looked for while the request waits (default 1 s). */
  pollMs?: number;
}

export class CertificateRotation {
  private readonly abort = new AbortController();
  private done?: Promise<void>;

  constructor(
    private readonly api: ApiClient,
    private readonly target: HttpsTarget,
    private readonly opts: RotationOptions,
  ) {}

  start(): this {
    this.done ??= this.loop();
    return this;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    let due = renewalDeadline(this.target.certPem!);
    while (!signal.aborted) {
      const wait = due - Date.now();
      if (wait > 0) {
        await sleep(Math.min(wait, 3_600_000), signal);
        continue;
      }
      try {
        await this.rotate(signal);
        failures = 0;
        due = renewalDeadline(this.target.certPem!);
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        due = Date.now() + Math.min(5000 * 2 ** (failures - 1), 300_000);
        log.warn({ node: this.opts.nodeName, err: (err as Error).message }, 'node certificate renewal failed, will retry');
      }
    }
  }

  /** One renewal: a new key and request, approved and signed, then written and used. */
  async rotate(signal?: AbortSignal): Promise<void> {
    const user = nodeUser(this.opts.nodeName);
    const { requestPem, keyPem } = await createCertificateRequest(user.username, user.groups);
    const csrs = this.api.resource(certificateSigningRequests);
    const created = await csrs.create({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { generateName: 'csr-' },
      spec: {
        request: Buffer.from(requestPem).toString('base64'),
        signerName: KUBELET_CLIENT_SIGNER,
        usages: ['digital signature', 'client auth'],
      },
    });
    const name = created.metadata!.name!;
    let certPem: string | undefined;
    while (!certPem) {
      if (signal?.aborted) throw new Error('stopped');
      const csr = (await csrs.get(undefined, name)) as CertificateSigningRequest;
      const refused = csr.status?.conditions?.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
      if (refused)
        throw new Error(`the certificate signing request ${name} was ${refused.type.toLowerCase()}: ${refused.message ?? refused.reason}`);
      if (csr.status?.certificate) certPem = Buffer.from(csr.status.certificate, 'base64').toString('utf8');
      else await sleep(this.opts.pollMs ?? 1000, signal);
    }
    const files = agentFiles(this.opts.dataDir);
    await writeAtomic(files.key, keyPem, 0o600);
    await writeAtomic(files.cert, certPem, 0o644);
    // The transport sees the new pair on its next request and opens new connections with it.
    this.target.keyPem = keyPem;
    this.target.certPem = certPem;
    log.info(
      { node: this.opts.nodeName, csr: name, notAfter: new Date(validity(certPem).notAfter).toISOString() },
      'node certificate renewed',
    );
    this.opts.onRotated?.(certPem);
  }
}
