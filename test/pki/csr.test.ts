// Certificate requests: made by an agent, read and signed by the cluster's client CA.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createCA } from '../../src/pki/certificates.js';
import { createCertificateRequest, inspectCertificateRequest, signCertificateRequest, validity } from '../../src/pki/csr.js';
import { tempDir } from '../helpers/tmp.js';

t.test('a node request: made with a new key, read back, signed by the CA for a given time', async (t) => {
  const ca = await createCA('test-client-ca');
  const { requestPem, keyPem } = await createCertificateRequest('system:node:n1', ['system:nodes']);
  t.match(requestPem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  t.match(keyPem, /BEGIN PRIVATE KEY/);
  t.same(await inspectCertificateRequest(requestPem), {
    commonName: 'system:node:n1',
    organizations: ['system:nodes'],
    dnsNames: [],
    ipAddresses: [],
    emailAddresses: [],
    uris: [],
  });
  const now = new Date('2030-01-01T00:00:00Z');
  const pem = await signCertificateRequest(ca, requestPem, { usages: ['digital signature', 'client auth'], durationMs: 100_000, now });
  const cert = new X509Certificate(pem);
  t.equal(cert.subject, 'CN=system:node:n1\nO=system:nodes');
  t.ok(cert.checkIssued(new X509Certificate(ca.certPem)), 'issued by the CA');
  t.ok(cert.verify(new X509Certificate(ca.certPem).publicKey), 'signed with its key');
  t.same(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'client auth');
  t.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(keyPem)), "the agent's key goes with it");
  const { notBefore, notAfter } = validity(pem);
  t.equal(notAfter, now.getTime() + 100_000, 'valid for the duration from now');
  t.equal(notBefore, now.getTime() - 10_000, 'from a tenth of its life before');
  const long = await signCertificateRequest(ca, requestPem, { usages: ['client auth'], durationMs: 365 * 86_400_000, now });
  t.equal(validity(long).notBefore, now.getTime() - 5 * 60_000, 'backdated five minutes at most');
  const beyond = await signCertificateRequest(ca, requestPem, { usages: ['client auth'], durationMs: 100 * 365 * 86_400_000 });
  t.equal(validity(beyond).notAfter, validity(ca.certPem).notAfter, 'never past the CA');
});

t.test('requests from openssl (RSA, with names) are read; garbage is refused in one line', async (t) => {
  const dir = tempDir(t);
  const key = path.join(dir, 'k.pem');
  execFileSync('openssl', ['genrsa', '-out', key, '2048'], { stdio: 'ignore' });
  const req = execFileSync('openssl', [
    'req',
    '-new',
    '-key',
    key,
    '-subj',
    '/CN=alice/O=dev/O=ops',
    '-addext',
    'subjectAltName=DNS:alice.example.com,IP:192.0.2.1,email:a@example.com',
  ]).toString();
  const info = await inspectCertificateRequest(req);
  t.same(info, {
    commonName: 'alice',
    organizations: ['dev', 'ops'],
    dnsNames: ['alice.example.com'],
    ipAddresses: ['192.0.2.1'],
    emailAddresses: ['a@example.com'],
    uris: [],
  });
  const ca = await createCA('test-client-ca');
  const cert = new X509Certificate(await signCertificateRequest(ca, req, { usages: ['client auth'], durationMs: 3_600_000 }));
  t.equal(cert.subject, 'CN=alice\nO=dev\nO=ops');
  t.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(fs.readFileSync(key))));
  await t.rejects(
    inspectCertificateRequest('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'),
    /unable to parse/,
  );
  // A request whose signature does not match its key (the subject was changed after signing).
  const der = Buffer.from(req.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const i = der.indexOf(Buffer.from('alice'));
  der.write('mallo', i);
  const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await t.rejects(inspectCertificateRequest(forged), /not signed by the key it carries/);
});
