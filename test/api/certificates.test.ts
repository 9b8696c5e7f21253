// CertificateSigningRequest validation and kubectl's CONDITION column, as upstream's.
import t from 'tap';
import { csrCondition, validateCertificateSigningRequest } from '../../src/api/validation/certificates.js';
import { createCertificateRequest } from '../../src/pki/csr.js';

const details = (errors: { field: string; detail: string }[]) => errors.map((e) => `${e.field}: ${e.detail}`);

t.test('create: a PEM request, a qualified signer, known usages, at least ten minutes', async (t) => {
  const { requestPem } = await createCertificateRequest('alice');
  const good = {
    spec: {
      request: Buffer.from(requestPem).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client',
      usages: ['client auth'],
    },
  };
  t.same(validateCertificateSigningRequest(good), []);
  t.same(details(validateCertificateSigningRequest({ spec: { usages: [] } } as never)), [
    'spec.request: Required value',
    'spec.signerName: Required value',
    'spec.usages: Required value',
  ]);
  t.match(
    details(
      validateCertificateSigningRequest({
        spec: {
          request: Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64'),
          signerName: 'example',
          usages: ['client auth', 'client auth', 'flying'],
          expirationSeconds: 60,
        },
      }),
    ),
    [
      'spec.request: Invalid value: "<request>": PEM block type must be CERTIFICATE REQUEST',
      'spec.signerName: Invalid value: "example": must be a fully qualified domain and path of the form \'example.com/signer-name\'',
      'spec.usages[1]: Duplicate value: "client auth"',
      /^spec.usages\[2\]: Unsupported value: "flying": supported values: "signing", "digital signature", /,
      'spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)',
    ],
  );
  t.match(details(validateCertificateSigningRequest({ ...good, spec: { ...good.spec, signerName: 'example/x' } })), [
    /should be a domain with at least two segments/,
  ]);
});

t.test('updates: spec fixed, verdicts exclusive and kept, the certificate set once and only when approved', async (t) => {
  const { requestPem } = await createCertificateRequest('alice');
  const spec = {
    request: Buffer.from(requestPem).toString('base64'),
    signerName: 'kubernetes.io/kube-apiserver-client',
    usages: ['client auth'],
  };
  const approved = { type: 'Approved', status: 'True', reason: 'KubectlApprove' };
  const denied = { type: 'Denied', status: 'True', reason: 'KubectlDeny' };
  const cert = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64');
  const old = { spec };
  t.same(details(validateCertificateSigningRequest({ spec: { ...spec, usages: ['server auth'] } }, old)), [
    'spec: Forbidden: updates to spec are forbidden',
  ]);
  t.same(details(validateCertificateSigningRequest({ spec, status: { conditions: [approved] } }, old)), []);
  t.match(details(validateCertificateSigningRequest({ spec, status: { conditions: [approved, denied] } }, old)), [
    /Approved and Denied conditions are mutually exclusive/,
  ]);
  t.match(details(validateCertificateSigningRequest({ spec, status: { conditions: [{ ...approved, status: 'False' }] } }, old)), [
    /status.conditions\[0\].status: Unsupported value: "False": supported values: "True"/,
  ]);
  const wasApproved = { spec, status: { conditions: [approved] } };
  t.match(details(validateCertificateSigningRequest({ spec, status: {} }, wasApproved)), [/may not remove a condition of type "Approved"/]);
  t.same(details(validateCertificateSigningRequest({ spec, status: { conditions: [approved], certificate: cert } }, wasApproved)), []);
  t.match(details(validateCertificateSigningRequest({ spec, status: { certificate: cert } }, old)), [
    /can only be set if the request is approved/,
  ]);
  const issued = { spec, status: { conditions: [approved], certificate: cert } };
  t.match(
    details(
      validateCertificateSigningRequest(
        { spec, status: { conditions: [approved], certificate: Buffer.from('x').toString('base64') } },
        issued,
      ),
    ),
    [/updates may not modify existing certificate/, /must contain at least one CERTIFICATE PEM block/],
  );

  t.equal(csrCondition({ spec }), 'Pending');
  t.equal(csrCondition(issued), 'Approved,Issued');
  t.equal(csrCondition({ spec, status: { conditions: [denied] } }), 'Denied');
  t.equal(csrCondition({ spec, status: { conditions: [approved, { type: 'Failed', status: 'True' }] } }), 'Approved,Failed');
});
