// Bootstrap tokens on the command line: their form, TTLs, and the Secrets they are stored as.
import t from 'tap';
import { parseTtl, shortHumanDuration, tokenFromSecret, tokenSecret } from '../../src/cli/token.js';
import { rotateCertificates } from '../../src/cli/certificate.js';
import {
  BOOTSTRAP_TOKEN,
  caHash,
  formatBootstrapJoinToken,
  generateBootstrapToken,
  parseBootstrapToken,
  parseJoinToken,
} from '../../src/pki/join-token.js';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';

t.test('bootstrap tokens: generated, parsed, printed as K10<hash>::<id>.<secret>', async (t) => {
  const token = generateBootstrapToken();
  t.match(token, BOOTSTRAP_TOKEN);
  t.not(generateBootstrapToken(), token);
  t.same(parseBootstrapToken('abcdef.0123456789abcdef'), { id: 'abcdef', secret: '0123456789abcdef' });
  t.equal(parseBootstrapToken('ABCDEF.0123456789abcdef'), undefined);
  t.equal(parseBootstrapToken('abcdef.0123456789abcde'), undefined);
  const joined = formatBootstrapJoinToken('CA PEM', 'abcdef.0123456789abcdef');
  t.equal(joined, `K10${caHash('CA PEM')}::abcdef.0123456789abcdef`);
  t.same(parseJoinToken(joined), { caHash: caHash('CA PEM'), password: 'abcdef.0123456789abcdef' });
  t.same(parseJoinToken(`K10${caHash('x')}::node:s3cret`), { caHash: caHash('x'), username: 'node', password: 's3cret' });
  t.same(parseJoinToken('abcdef.0123456789abcdef'), { password: 'abcdef.0123456789abcdef' });
});

t.test('TTLs as Go durations, shown as kubeadm shows them', async (t) => {
  t.equal(parseTtl('24h'), 86_400_000);
  t.equal(parseTtl('1h30m'), 5_400_000);
  t.equal(parseTtl('90s'), 90_000);
  t.equal(parseTtl('0'), 0);
  t.throws(() => parseTtl('1d'), /invalid --ttl "1d"/);
  t.throws(() => parseTtl('-5m'), /invalid --ttl/);
  t.equal(shortHumanDuration(59_000), '59s');
  t.equal(shortHumanDuration(3 * 3_600_000), '3h');
  t.equal(shortHumanDuration(23 * 3_600_000 + 59 * 60_000), '23h');
  t.equal(shortHumanDuration(72 * 3_600_000), '3d');
  t.equal(shortHumanDuration(-5000), '<invalid>');
});

t.test('the Secret a token is stored as, and back', async (t) => {
  const token = {
    id: 'abcdef',
    secret: '0123456789abcdef',
    description: 'for the Pis',
    expires: '2030-01-01T00:00:00Z',
    usages: ['signing', 'authentication'],
    groups: ['system:bootstrappers:skiff:default-node-token'],
  };
  const secret = tokenSecret(token);
  t.match(secret, {
    metadata: { name: 'bootstrap-token-abcdef', namespace: 'kube-system' },
    type: 'bootstrap.kubernetes.io/token',
    stringData: {
      'token-id': 'abcdef',
      'token-secret': '0123456789abcdef',
      expiration: '2030-01-01T00:00:00Z',
      'usage-bootstrap-signing': 'true',
      'usage-bootstrap-authentication': 'true',
      'auth-extra-groups': 'system:bootstrappers:skiff:default-node-token',
      description: 'for the Pis',
    },
  });
  const data = Object.fromEntries(Object.entries(secret.stringData!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  t.same(tokenFromSecret({ ...secret, data }), token);
});

t.test('certificate rotate: backs up, removes the chosen services, keeps the CAs', async (t) => {
  const dir = tempDir(t);
  const tls = path.join(dir, 'server', 'tls');
  fs.mkdirSync(tls, { recursive: true });
  const names = ['server-ca', 'client-ca', 'serving-kube-apiserver', 'client-kube-apiserver', 'client-admin'];
  for (const n of names) for (const ext of ['crt', 'key']) fs.writeFileSync(path.join(tls, `${n}.${ext}`), n);
  const { lines } = await rotateCertificates(dir, ['admin']);
  t.match(lines, [
    'Server detected, rotating server certificates',
    'Rotating certificates for admin service',
    /backed up certificates .* to path .*tls-\d+/,
  ]);
  t.notOk(fs.existsSync(path.join(tls, 'client-admin.crt')));
  t.ok(fs.existsSync(path.join(tls, 'serving-kube-apiserver.crt')), 'other services untouched');
  await rotateCertificates(dir, []);
  t.same(fs.readdirSync(tls).sort(), ['client-ca.crt', 'client-ca.key', 'server-ca.crt', 'server-ca.key']);
  const backups = fs.readdirSync(path.join(dir, 'server')).filter((d) => d.startsWith('tls-'));
  t.equal(backups.length, 2, 'each rotation keeps its own backup');
  t.ok(
    backups.some((b) => fs.existsSync(path.join(dir, 'server', b, 'client-admin.crt'))),
    'the backup holds what was removed',
  );
  await t.rejects(rotateCertificates(dir, ['etcd']), /etcd is not a recognized service/);
});
