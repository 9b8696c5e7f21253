// A node's client certificate renewal: when it is due, and the HTTPS transport using a renewed pair
// from the next request on.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import { renewalDeadline } from '../../src/agent/certificate-rotation.js';
import { httpsTransport, type HttpsTarget } from '../../src/client/transport.js';
import { createCA, issueCertificate } from '../../src/pki/certificates.js';
import { validity } from '../../src/pki/csr.js';

t.test('renewal is due between 70% and 90% of the certificate life', async (t) => {
  const ca = await createCA('test-ca');
  const { certPem } = await issueCertificate(ca, { commonName: 'system:node:n1', usage: 'client', days: 10 });
  const { notBefore, notAfter } = validity(certPem);
  const life = notAfter - notBefore;
  t.equal(renewalDeadline(certPem, 0), notBefore + life * 0.7);
  t.equal(renewalDeadline(certPem, 0.5), notBefore + life * 0.8);
  t.ok(renewalDeadline(certPem, 0.999) < notBefore + life * 0.9);
});

t.test('the transport presents a swapped client certificate on its next request', async (t) => {
  const serverCa = await createCA('server-ca');
  const clientCa = await createCA('client-ca');
  const serving = await issueCertificate(serverCa, { commonName: 'localhost', sans: ['127.0.0.1'], usage: 'server' });
  const server = https.createServer(
    { cert: serving.certPem, key: serving.keyPem, ca: clientCa.certPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => res.end((req.socket as TLSSocket).getPeerCertificate().subject.CN),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const first = await issueCertificate(clientCa, { commonName: 'first', usage: 'client' });
  const second = await issueCertificate(clientCa, { commonName: 'second', usage: 'client' });
  const target: HttpsTarget = {
    server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    caPem: serverCa.certPem,
    certPem: first.certPem,
    keyPem: first.keyPem,
  };
  const transport = httpsTransport(target);
  t.equal(await (await transport('GET', '/')).text(), 'first');
  t.equal(await (await transport('GET', '/')).text(), 'first', 'the kept-alive connection');
  target.certPem = second.certPem;
  target.keyPem = second.keyPem;
  t.equal(await (await transport('GET', '/')).text(), 'second');
});
