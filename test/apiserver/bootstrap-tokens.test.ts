// Bootstrap tokens as joining agents present them: read from their Secret as upstream's authenticator
// reads them.
import t from 'tap';
import { bootstrapTokenUser } from '../../src/apiserver/bootstrap-tokens.js';
import { apiHarness } from './harness.js';

t.test('a bootstrap token stands for system:bootstrap:<id> while its Secret says it may', async (t) => {
  const h = await apiHarness(t);
  const put = async (id: string, data: Record<string, string>, type = 'bootstrap.kubernetes.io/token') => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: `bootstrap-token-${id}` }, type, stringData: data };
    t.equal((await h.request('POST', '/api/v1/namespaces/kube-system/secrets', secret)).status, 201);
  };
  const user = (token: string) => bootstrapTokenUser(h.objects, h.registry, token);
  const valid = { 'token-secret': '0123456789abcdef', 'usage-bootstrap-authentication': 'true' };

  await put('abcdef', {
    ...valid,
    'token-id': 'abcdef',
    expiration: new Date(Date.now() + 3_600_000).toISOString(),
    'auth-extra-groups': 'system:bootstrappers:skiff:default-node-token,system:masters',
  });
  t.same(await user('abcdef.0123456789abcdef'), {
    username: 'system:bootstrap:abcdef',
    groups: ['system:bootstrappers', 'system:bootstrappers:skiff:default-node-token'],
  });
  t.equal(await user('abcdef.0123456789abcdee'), undefined, 'wrong secret');
  t.equal(await user('abcdee.0123456789abcdef'), undefined, 'no such token');
  t.equal(await user('not-a-token'), undefined, 'not a bootstrap token');

  await put('expird', { ...valid, 'token-id': 'expird', expiration: new Date(Date.now() - 1000).toISOString() });
  t.equal(await user('expird.0123456789abcdef'), undefined, 'expired');
  await put('signng', { 'token-id': 'signng', 'token-secret': '0123456789abcdef', 'usage-bootstrap-signing': 'true' });
  t.equal(await user('signng.0123456789abcdef'), undefined, 'not for authentication');
  await put('opaque', { ...valid, 'token-id': 'opaque' }, 'Opaque');
  t.equal(await user('opaque.0123456789abcdef'), undefined, 'not a bootstrap token Secret');
});
