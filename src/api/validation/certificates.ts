// certificates.k8s.io/v1 CertificateSigningRequest, validated as upstream's
// pkg/apis/certificates/validation: a PEM certificate request, a qualified signer name, known usages,
// a requested duration of at least ten minutes, a spec that never changes, approval conditions that
// exclude each other and are never taken back, and a certificate that is set once, as PEM.
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from 'kubernetes-types/certificates/v1.js';
import type { FieldError } from '../../k8s/errors.js';
import { dns1123Subdomain, duplicate, forbidden, invalidValue, notSupported, required } from './names.js';

export const KEY_USAGES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
];

const CONDITION_TYPES = ['Approved', 'Denied', 'Failed'];

type Csr = CertificateSigningRequest;

/** The PEM text of a base64 `bytes` field, or undefined when it is not base64. */
export function pemOf(b64: string | undefined): string | undefined {
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64.replace(/\s/g, ''))) return undefined;
  return Buffer.from(b64, 'base64').toString('utf8');
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END \1-----/g;

/** The types of the PEM blocks in a text, in order. */
export function pemBlockTypes(text: string): string[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => m[1]!);
}

function validateSignerName(name: string | undefined): FieldError[] {
  const field = 'spec.signerName';
  if (!name) return [required(field)];
  const [domain = '', ...rest] = name.split('/');
  if (!rest.join('/'))
    return [invalidValue(field, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")];
  const bad = dns1123Subdomain(domain);
  if (bad.length) return bad.map((why) => invalidValue(field, name, why));
  return domain.includes('.') ? [] : [invalidValue(field, name, 'should be a domain with at least two segments separated by dots')];
}

function validateConditions(conditions: CertificateSigningRequestCondition[]): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const [i, c] of conditions.entries()) {
    const at = `status.conditions[${i}]`;
    if (!c.type) errors.push(required(`${at}.type`));
    if (c.type === 'Approved' || c.type === 'Denied') {
      if (c.status !== 'True') errors.push(notSupported(`${at}.status`, c.status ?? '', ['True']));
      if (seen.has(c.type)) errors.push(duplicate(`${at}.type`, c.type));
    } else if (c.status && !['True', 'False', 'Unknown'].includes(c.status)) {
      errors.push(notSupported(`${at}.status`, c.status, ['False', 'True', 'Unknown']));
    }
    if (c.type) seen.add(c.type);
  }
  if (seen.has('Approved') && seen.has('Denied'))
    errors.push(invalidValue('status.conditions', 'Approved', 'Approved and Denied conditions are mutually exclusive'));
  return errors;
}

export function validateCertificateSigningRequest(csr: Csr, old?: Csr): FieldError[] {
  const errors: FieldError[] = [];
  const spec = csr.spec;
  if (!old) {
    const pem = pemOf(spec?.request);
    if (!spec?.request) errors.push(required('spec.request'));
    else if (!pem || !pemBlockTypes(pem).includes('CERTIFICATE REQUEST'))
      errors.push(invalidValue('spec.request', '<request>', 'PEM block type must be CERTIFICATE REQUEST'));
    errors.push(...validateSignerName(spec?.signerName));
    if (!spec?.usages?.length) errors.push(required('spec.usages'));
    const seen = new Set<string>();
    for (const [i, u] of (spec?.usages ?? []).entries()) {
      if (!KEY_USAGES.includes(u)) errors.push(notSupported(`spec.usages[${i}]`, u, KEY_USAGES));
      else if (seen.has(u)) errors.push(duplicate(`spec.usages[${i}]`, u));
      seen.add(u);
    }
    const seconds = spec?.expirationSeconds;
    if (seconds !== undefined && seconds < 600)
      errors.push(invalidValue('spec.expirationSeconds', seconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
  } else if (JSON.stringify(csr.spec) !== JSON.stringify(old.spec)) {
    errors.push(forbidden('spec', 'updates to spec are forbidden'));
  }
  const conditions = csr.status?.conditions ?? [];
  errors.push(...validateConditions(conditions));
  if (old) {
    for (const type of ['Approved', 'Denied']) {
      if (old.status?.conditions?.some((c) => c.type === type) && !conditions.some((c) => c.type === type))
        errors.push(forbidden('status.conditions', `updates may not remove a condition of type "${type}"`));
    }
    const before = old.status?.certificate;
    if (before && csr.status?.certificate !== before)
      errors.push(forbidden('status.certificate', 'updates may not modify existing certificate'));
  }
  for (const [i, c] of conditions.entries())
    if (c.type && !CONDITION_TYPES.includes(c.type) && !/^[A-Za-z0-9./-]+$/.test(c.type))
      errors.push(invalidValue(`status.conditions[${i}].type`, c.type, 'invalid condition type'));
  const cert = csr.status?.certificate;
  if (cert) {
    const pem = pemOf(cert);
    const types = pem ? pemBlockTypes(pem) : [];
    if (!types.length || types.some((t) => t !== 'CERTIFICATE'))
      errors.push(
        invalidValue('status.certificate', '<certificate data>', 'must contain at least one CERTIFICATE PEM block and nothing else'),
      );
    else if (!conditions.some((c) => c.type === 'Approved'))
      errors.push(forbidden('status.certificate', 'certificate can only be set if the request is approved'));
  }
  return errors;
}

/** The approval conditions a request carries, as `kubectl get csr` sums them up: Approved,Issued; Pending; Denied,Failed. */
export function csrCondition(csr: Csr): string {
  const types = new Set((csr.status?.conditions ?? []).map((c) => c.type));
  let status = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending';
  if (types.has('Failed')) status += ',Failed';
  if (csr.status?.certificate) status += ',Issued';
  return status;
}
