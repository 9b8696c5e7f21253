// X.509 with @peculiar/x509 over Node's WebCrypto: ECDSA P-256 keys, a self-signed CA, and leaf
// certificates for serving (SANs) and for clients (CN = user, O = groups).
import { webcrypto, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type * as X509 from '@peculiar/x509';
import { x509Lib } from './x509-lib.js';

/** PEM text always ends with a newline, so that chains can be concatenated. */
const pem = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 60 * 60 * 1000;

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export async function generateKey(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function keyToPem(key: CryptoKey): Promise<string> {
  const x509 = await x509Lib();
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return pem(x509.PemConverter.encode(der, 'PRIVATE KEY'));
}

export async function publicKeyToPem(key: CryptoKey): Promise<string> {
  const x509 = await x509Lib();
  const der = await webcrypto.subtle.exportKey('spki', key);
  return pem(x509.PemConverter.encode(der, 'PUBLIC KEY'));
}

async function importKey(pem: string): Promise<CryptoKey> {
  const x509 = await x509Lib();
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(pem)[0]!, ALG, true, ['sign']);
}

const serial = () => `01${randomBytes(15).toString('hex')}`;
/** Distinguished names are built, not parsed, so that odd characters in a user name stay literal. */
const dn = (cn: string, orgs: string[] = []) => [{ CN: [cn] }, ...orgs.map((o) => ({ O: [o] }))] as X509.JsonName;

export async function createCA(commonName: string, years = 10): Promise<KeyPair> {
  const x509 = await x509Lib();
  const keys = await generateKey();
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: dn(commonName),
    notBefore,
    notAfter: new Date(notBefore.getTime() + years * 365 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: pem(cert.toString('pem')), keyPem: await keyToPem(keys.privateKey) };
}

export interface LeafRequest {
  commonName: string;
  organizations?: string[];
  /** DNS names and IP addresses, for serving certificates. */
  sans?: string[];
  /** 'both': a member of a peer-to-peer cluster (etcd) serves and dials with one certificate. */
  usage: 'server' | 'client' | 'both';
  days?: number;
}

export async function issueCertificate(ca: KeyPair, req: LeafRequest): Promise<KeyPair> {
  const x509 = await x509Lib();
  const keys = await generateKey();
  const caCert = new x509.X509Certificate(ca.certPem);
  const notBefore = new Date(Date.now() - 60_000);
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([
      ...(req.usage === 'client' ? [] : [x509.ExtendedKeyUsage.serverAuth]),
      ...(req.usage === 'server' ? [] : [x509.ExtendedKeyUsage.clientAuth]),
    ]),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  if (req.sans?.length) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        req.sans.map((s) => (isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s })),
      ),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: dn(req.commonName, req.organizations),
    issuer: caCert.subjectName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (req.days ?? 365) * DAY),
    publicKey: keys.publicKey,
    signingKey: await importKey(ca.keyPem),
    signingAlgorithm: ALG,
    extensions,
  });
  return { certPem: pem(cert.toString('pem')), keyPem: await keyToPem(keys.privateKey) };
}

/** The DNS names and IPs a certificate is valid for, as Node reads them. */
export function certificateSans(certPem: string): string[] {
  const alt = new X509Certificate(certPem).subjectAltName ?? '';
  return alt
    .split(', ')
    .filter(Boolean)
    .map((s) => s.replace(/^(DNS|IP Address):/, ''));
}

/** Days until the certificate expires. */
export function daysLeft(certPem: string): number {
  return (Date.parse(new X509Certificate(certPem).validTo) - Date.now()) / DAY;
}

/** The subject's common name, as Node reads it. */
export function certificateCommonName(certPem: string): string | undefined {
  return /^CN=(.*)$/m.exec(new X509Certificate(certPem).subject)?.[1];
}
