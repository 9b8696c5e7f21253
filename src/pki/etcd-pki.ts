// The embedded etcd's TLS under <data-dir>/server/tls/etcd (K3s's file names): the member's serving
// certificate for clients, its peer certificate, and the API server's client certificate. Made on
// first start, reused after, issued again when the wanted names grow or the CA changed.
//
// They are issued by the cluster's server CA rather than a CA of etcd's own: every server of the
// cluster holds that CA already, so each can issue its member's certificates and the others trust
// them, with no second CA to hand to joining servers. etcd accepts only certificates of this CA that
// allow client use, and the server CA issues no other such certificate (the API server's serving
// certificate is for serving only; users and nodes have the client CA).
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { issueCertificate, type KeyPair, type LeafRequest } from './certificates.js';
import { checkSan, coversSans, ensurePair } from './cluster-pki.js';

export interface CertFiles {
  cert: string;
  key: string;
}

export interface EtcdPki {
  dir: string;
  /** The CA's certificate: what members trust for clients and peers, and clients for members. */
  caFile: string;
  /** The member's certificate toward clients (server-client.crt); for client use too, as etcd's HTTP gateway dials in with it. */
  server: CertFiles;
  /** The member's certificate toward other members, which it both serves and dials with (peer-server-client.crt). */
  peer: CertFiles;
  /** The API server's certificate for its own connection to etcd (client.crt). */
  client: CertFiles;
}

/** A member is always reached on loopback by its own server. */
const LOOPBACK_SANS = ['localhost', '127.0.0.1', '::1'];

/** The certificates for the member of this server; `sans` are the names and addresses it is reached at. */
export async function ensureEtcdPki(dataDir: string, ca: KeyPair, sans: string[]): Promise<EtcdPki> {
  sans.forEach(checkSan);
  const dir = path.join(dataDir, 'server', 'tls', 'etcd');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = path.join(dir, 'server-ca.crt');
  fs.writeFileSync(caFile, ca.certPem, { mode: 0o644 });
  const caCert = new X509Certificate(ca.certPem);
  const issuedByCa = (p: KeyPair) => {
    const cert = new X509Certificate(p.certPem);
    return cert.checkIssued(caCert) && cert.verify(caCert.publicKey);
  };
  const wanted = [...new Set([...LOOPBACK_SANS, ...sans])];
  const ensure = async (name: string, req: LeafRequest): Promise<CertFiles> => {
    await ensurePair(
      dir,
      name,
      () => issueCertificate(ca, req),
      (p) => issuedByCa(p) && coversSans(p.certPem, req.sans ?? []),
    );
    return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  };
  return {
    dir,
    caFile,
    server: await ensure('server-client', { commonName: 'etcd-server', sans: wanted, usage: 'both' }),
    peer: await ensure('peer-server-client', { commonName: 'etcd-peer', sans: wanted, usage: 'both' }),
    client: await ensure('client', { commonName: 'etcd-client', usage: 'client' }),
  };
}
