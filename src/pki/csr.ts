// PKCS#10 certificate requests: an agent makes one for its node client certificate (its key never
// leaves it), the API server's signer reads one (subject, names, whether its signature holds) and
// issues the certificate from a CA, as kube-controller-manager's csrsigning does.
import { generateKey, keyToPem, type KeyPair } from './certificates.js';
import { webcrypto, X509Certificate } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import { x509Lib } from './x509-lib.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const pem = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

/** A new key and a request for a client certificate with this subject (CN = user, O = groups). */
export async function createCertificateRequest(
  commonName: string,
  organizations: string[] = [],
): Promise<{ requestPem: string; keyPem: string }> {
  const x509 = await x509Lib();
  const keys = await generateKey();
  const name = [{ CN: [commonName] }, ...organizations.map((o) => ({ O: [o] }))] as X509.JsonName;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: ALG });
  return { requestPem: pem(csr.toString('pem')), keyPem: await keyToPem(keys.privateKey) };
}

export interface RequestInfo {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
}

function parse(x509: typeof X509, requestPem: string): X509.Pkcs10CertificateRequest {
  try {
    return new x509.Pkcs10CertificateRequest(requestPem);
  } catch (err) {
    throw new Error(`unable to parse the certificate request: ${(err as Error).message}`);
  }
}

/** What a request asks for; throws when it cannot be parsed or its signature does not hold. */
export async function inspectCertificateRequest(requestPem: string): Promise<RequestInfo> {
  const x509 = await x509Lib();
  const csr = parse(x509, requestPem);
  if (!(await csr.verify())) throw new Error('the certificate request is not signed by the key it carries');
  const subject = csr.subjectName;
  const info: RequestInfo = {
    commonName: subject.getField('CN')[0] ?? '',
    organizations: subject.getField('O'),
    dnsNames: [],
    ipAddresses: [],
    emailAddresses: [],
    uris: [],
  };
  for (const ext of csr.extensions) {
    if (!(ext instanceof x509.SubjectAlternativeNameExtension)) continue;
    for (const n of ext.names.toJSON()) {
      if (n.type === 'dns') info.dnsNames.push(n.value);
      else if (n.type === 'ip') info.ipAddresses.push(n.value);
      else if (n.type === 'email') info.emailAddresses.push(n.value);
      else if (n.type === 'url') info.uris.push(n.value);
    }
  }
  return info;
}

const usageBits = (x509: typeof X509): Record<string, number> => ({
  'digital signature': x509.KeyUsageFlags.digitalSignature,
  'content commitment': x509.KeyUsageFlags.nonRepudiation,
  'key encipherment': x509.KeyUsageFlags.keyEncipherment,
  'data encipherment': x509.KeyUsageFlags.dataEncipherment,
  'key agreement': x509.KeyUsageFlags.keyAgreement,
  'cert sign': x509.KeyUsageFlags.keyCertSign,
  'crl sign': x509.KeyUsageFlags.cRLSign,
  'encipher only': x509.KeyUsageFlags.encipherOnly,
  'decipher only': x509.KeyUsageFlags.decipherOnly,
});
const extendedUsages = (x509: typeof X509): Record<string, string> => ({
  'server auth': x509.ExtendedKeyUsage.serverAuth,
  'client auth': x509.ExtendedKeyUsage.clientAuth,
  'code signing': x509.ExtendedKeyUsage.codeSigning,
  'email protection': x509.ExtendedKeyUsage.emailProtection,
  timestamping: x509.ExtendedKeyUsage.timeStamping,
  'ocsp signing': x509.ExtendedKeyUsage.ocspSigning,
});

export interface SignOptions {
  /** The request's usages (`digital signature`, `client auth`, ...). */
  usages: string[];
  /** How long the certificate lives from now. */
  durationMs: number;
  now?: Date;
}

/**
 * The certificate for a request, from `ca`: the request's subject and names, its usages, valid from a
 * little before now (a tenth of its life, at most five minutes, for clocks a little behind) to now plus
 * the duration, never past the CA's own end.
 */
export async function signCertificateRequest(ca: KeyPair, requestPem: string, opts: SignOptions): Promise<string> {
  const x509 = await x509Lib();
  const csr = parse(x509, requestPem);
  if (!(await csr.verify())) throw new Error('the certificate request is not signed by the key it carries');
  const caCert = new x509.X509Certificate(ca.certPem);
  const now = opts.now ?? new Date();
  const backdate = Math.min(5 * 60_000, opts.durationMs / 10);
  const caEnd = Date.parse(new X509Certificate(ca.certPem).validTo);
  const bits = usageBits(x509);
  const extendedOf = extendedUsages(x509);
  const keyUsage = opts.usages.reduce((all, u) => all | (bits[u] ?? 0), 0);
  const extended = opts.usages.map((u) => extendedOf[u]).filter((u): u is string => !!u);
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  if (keyUsage) extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
  if (extended.length) extensions.push(new x509.ExtendedKeyUsageExtension(extended));
  for (const ext of csr.extensions) if (ext instanceof x509.SubjectAlternativeNameExtension) extensions.push(ext);
  const signingKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(ca.keyPem)[0]!, ALG, false, ['sign']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `01${Buffer.from(webcrypto.getRandomValues(new Uint8Array(15))).toString('hex')}`,
    subject: csr.subjectName,
    issuer: caCert.subjectName,
    notBefore: new Date(now.getTime() - backdate),
    notAfter: new Date(Math.min(now.getTime() + opts.durationMs, caEnd)),
    publicKey: csr.publicKey,
    signingKey,
    signingAlgorithm: ALG,
    extensions,
  });
  return pem(cert.toString('pem'));
}

/** When a certificate starts and ends being valid, in ms since the epoch. */
export function validity(certPem: string): { notBefore: number; notAfter: number } {
  const cert = new X509Certificate(certPem);
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}
