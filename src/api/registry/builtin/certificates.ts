// certificates.k8s.io/v1: CertificateSigningRequests, cluster-scoped, with the status subresource
// (where a signer puts the certificate) and the approval one (where `kubectl certificate approve`
// and the approver put their verdict). kubectl's columns: AGE SIGNERNAME REQUESTOR
// REQUESTEDDURATION CONDITION.
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import { humanDuration } from '../../printers/duration.js';
import { csrCondition, validateCertificateSigningRequest } from '../../validation/certificates.js';
import { withMeta } from '../../validation/object-meta.js';
import type { ResourceDef } from '../types.js';
import { age, col } from './columns.js';

type Csr = CertificateSigningRequest;

export const certificatesResources: ResourceDef[] = [
  {
    group: 'certificates.k8s.io',
    version: 'v1',
    kind: 'CertificateSigningRequest',
    plural: 'certificatesigningrequests',
    singular: 'certificatesigningrequest',
    namespaced: false,
    shortNames: ['csr'],
    statusSubresource: true,
    extraSubresources: [{ name: 'approval', kind: 'CertificateSigningRequest', verbs: ['get', 'patch', 'update'] }],
    schemaName: 'io.k8s.api.certificates.v1.CertificateSigningRequest',
    columns: [
      age,
      col('SignerName', (c: Csr) => c.spec?.signerName ?? ''),
      col('Requestor', (c: Csr) => c.spec?.username ?? ''),
      col('RequestedDuration', (c: Csr) =>
        c.spec?.expirationSeconds === undefined ? '<none>' : humanDuration(c.spec.expirationSeconds * 1000),
      ),
      col('Condition', csrCondition),
    ],
    validate: withMeta('certificatesigningrequests', validateCertificateSigningRequest),
  },
];
