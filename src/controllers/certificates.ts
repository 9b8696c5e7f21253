// What the certificate controllers share: the signers Skiff serves, reading a request through the
// server's CA (controllers never hold key material themselves), and upstream's rules for a kubelet's
// client certificate (certificates.ValidateKubeletClientCSR).
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import type { Writable } from '../client/resources.js';

export type Csr = Writable<CertificateSigningRequest>;

export const CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';

/** What a request asks for, as the signer reads it. */
export interface RequestSubject {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
}

/** The cluster's client CA, handed to the controller manager by the server. */
export interface CertificateSigner {
  /** Reads a PEM request; throws when it is malformed or its signature does not hold. */
  inspect(requestPem: string): Promise<RequestSubject>;
  /** A PEM certificate for the request, signed by the client CA, valid for `durationMs` from now. */
  sign(requestPem: string, usages: string[], durationMs: number): Promise<string>;
}

export const requestPem = (csr: Csr) => Buffer.from(csr.spec?.request ?? '', 'base64').toString('utf8');

export const hasCondition = (csr: Csr, type: string) => (csr.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** Why a request is not a kubelet client certificate request, or undefined when it is one. */
export function kubeletClientProblem(subject: RequestSubject, usages: string[]): string | undefined {
  if (!sameSet(subject.organizations, ['system:nodes'])) return 'subject organization is not system:nodes';
  if (subject.dnsNames.length) return 'dnsNames are not allowed';
  if (subject.emailAddresses.length) return 'email addresses are not allowed';
  if (subject.ipAddresses.length) return 'ip addresses are not allowed';
  if (subject.uris.length) return 'uri SANs are not allowed';
  if (!subject.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  const unique = [...new Set(usages)];
  const rsa = ['digital signature', 'key encipherment', 'client auth'];
  if (!sameSet(unique, rsa) && !sameSet(unique, ['digital signature', 'client auth']))
    return `usages did not match [client auth digital signature key encipherment] or [client auth digital signature]: ${usages.join(', ')}`;
  return undefined;
}

/** Why a kubernetes.io/kube-apiserver-client request cannot be signed, or undefined. */
export function clientProblem(usages: string[]): string | undefined {
  const allowed = ['digital signature', 'key encipherment', 'client auth'];
  const bad = usages.filter((u) => !allowed.includes(u));
  if (bad.length) return `invalid usage for client certificate: ${bad.join(', ')}`;
  if (!usages.includes('client auth')) return 'missing required usage for client certificate: client auth';
  return undefined;
}
