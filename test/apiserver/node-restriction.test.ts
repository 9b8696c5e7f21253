// What a node may write (NodeRestriction admission with the Node authorizer), CertificateSigningRequests
// through the API, node passwords, and tokens bound to objects: the API stack in-process.
import t from 'tap';
import type { UserInfo } from '../../src/apiserver/authn.js';
import { ensureNodePassword, hashNodePassword, verifyNodePassword } from '../../src/apiserver/node-password.js';
import { createCertificateRequest } from '../../src/pki/csr.js';
import { apiHarness, type Harness } from './harness.js';

const node = (name: string): UserInfo => ({ username: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] });

async function as(h: Harness, user: UserInfo, method: string, url: string, body?: unknown, contentType = 'application/json') {
  const res = await h.app.fetch(
    new Request(`https://skiff.test${url}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'content-type': contentType },
    }),
    { user },
  );
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const nodeObject = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });

t.test('a node registers and changes only its own Node, with the labels a kubelet may set', async (t) => {
  const h = await apiHarness(t);
  const n1 = node('n1');
  t.equal((await as(h, n1, 'POST', '/api/v1/nodes', nodeObject('n1', { 'kubernetes.io/hostname': 'n1', rack: '3' }))).status, 201);
  const other = await as(h, n1, 'POST', '/api/v1/nodes', nodeObject('n2'));
  t.equal(other.status, 403);
  t.equal(other.body.message, 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
  const roles = await as(
    h,
    node('n3'),
    'POST',
    '/api/v1/nodes',
    nodeObject('n3', { 'node-role.kubernetes.io/control-plane': 'true', 'node-restriction.kubernetes.io/x': 'y' }),
  );
  t.equal(
    roles.body.message,
    'nodes "n3" is forbidden: node "n3" is not allowed to set the following labels: ' +
      'node-restriction.kubernetes.io/x, node-role.kubernetes.io/control-plane',
  );
  const patch = (user: UserInfo, name: string, body: unknown, sub = '') =>
    as(h, user, 'PATCH', `/api/v1/nodes/${name}${sub}`, body, 'application/merge-patch+json');
  t.equal((await patch(n1, 'n1', { metadata: { labels: { 'node.kubernetes.io/instance-type': 'pi4' } } })).status, 200);
  t.equal(
    (await patch(n1, 'n1', { metadata: { labels: { 'node-role.kubernetes.io/worker': 'true' } } })).body.message,
    'nodes "n1" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/worker',
  );
  t.equal(
    (await patch(n1, 'n1', { spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } })).body.message,
    'nodes "n1" is forbidden: node "n1" is not allowed to modify taints',
  );
  t.equal((await patch(n1, 'n1', { status: { capacity: { pods: '10' } } }, '/status')).status, 200, 'its status');
  // The admin labels it as they like; the node may still write its status afterwards.
  t.equal(
    (
      await h.request(
        'PATCH',
        '/api/v1/nodes/n1',
        { metadata: { labels: { 'node-role.kubernetes.io/worker': 'true' } } },
        { 'content-type': 'application/merge-patch+json' },
      )
    ).status,
    200,
  );
  t.equal((await patch(n1, 'n1', { status: { capacity: { pods: '20' } } }, '/status')).status, 200);
  t.equal((await h.request('POST', '/api/v1/nodes', nodeObject('n2'))).status, 201);
  t.equal((await patch(n1, 'n2', { metadata: { labels: { a: 'b' } } })).status, 403, "never another node's");
  t.equal((await patch(n1, 'n2', { status: { capacity: { pods: '1' } } }, '/status')).status, 403);
});

t.test('leases, pods, claims and token requests of a node', async (t) => {
  const h = await apiHarness(t);
  const n1 = node('n1');
  const lease = (name: string) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name },
    spec: { holderIdentity: name },
  });
  t.equal((await as(h, n1, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease('n1'))).status, 201);
  t.equal(
    (await as(h, n1, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease('n2'))).body.message,
    'leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node',
  );
  t.equal((await as(h, n1, 'POST', '/apis/coordination.k8s.io/v1/namespaces/default/leases', lease('n1'))).status, 403);

  const pod = (name: string, nodeName: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...extra },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] },
  });
  t.equal((await h.request('POST', '/api/v1/namespaces/default/pods', pod('mine', 'n1'))).status, 201);
  t.equal((await h.request('POST', '/api/v1/namespaces/default/pods', pod('theirs', 'n2'))).status, 201);
  const status = (name: string, body: unknown) =>
    as(h, n1, 'PATCH', `/api/v1/namespaces/default/pods/${name}/status`, body, 'application/merge-patch+json');
  t.equal((await status('mine', { status: { phase: 'Running' } })).status, 200);
  t.equal((await status('theirs', { status: { phase: 'Running' } })).status, 403);
  const created = await as(h, n1, 'POST', '/api/v1/namespaces/default/pods', pod('made-by-node', 'n1'));
  t.equal(
    created.body.message,
    'pods "made-by-node" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods',
  );
  const mirror = await as(
    h,
    n1,
    'POST',
    '/api/v1/namespaces/default/pods',
    pod('mirror', 'n2', { annotations: { 'kubernetes.io/config.mirror': 'x' } }),
  );
  t.equal(mirror.body.message, 'pods "mirror" is forbidden: node "n1" can only create pods with spec.nodeName set to itself');
  t.equal((await as(h, n1, 'DELETE', '/api/v1/namespaces/default/pods/theirs')).status, 403);
  t.ok([200, 202].includes((await as(h, n1, 'DELETE', '/api/v1/namespaces/default/pods/mine')).status), 'its own pod');

  // Tokens: only bound to a pod of its own, by uid.
  await h.request('POST', '/api/v1/namespaces/default/serviceaccounts', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'default' },
  });
  t.equal((await h.request('POST', '/api/v1/namespaces/default/pods', pod('runner', 'n1'))).status, 201);
  const runner = (await h.request('GET', '/api/v1/namespaces/default/pods/runner')).body;
  const theirs = (await h.request('GET', '/api/v1/namespaces/default/pods/theirs')).body;
  const request = (ref?: Record<string, string>) => ({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { audiences: [], boundObjectRef: ref },
  });
  const ask = (ref?: Record<string, string>) => as(h, n1, 'POST', '/api/v1/namespaces/default/serviceaccounts/default/token', request(ref));
  t.equal((await ask({ apiVersion: 'v1', kind: 'Pod', name: 'runner', uid: runner.metadata.uid })).status, 201);
  t.equal((await ask()).body.message, 'serviceaccounts "default" is forbidden: node requested token not bound to a pod');
  t.equal(
    (await ask({ apiVersion: 'v1', kind: 'Pod', name: 'runner' })).body.message,
    'serviceaccounts "default" is forbidden: node requested token with a pod binding without a uid',
  );
  t.equal(
    (await ask({ apiVersion: 'v1', kind: 'Pod', name: 'theirs', uid: theirs.metadata.uid })).body.message,
    'serviceaccounts "default" is forbidden: node requested token bound to a pod scheduled on a different node',
  );
  const stale = await ask({ apiVersion: 'v1', kind: 'Pod', name: 'runner', uid: 'not-its-uid' });
  t.equal(stale.status, 409);
  t.match(stale.body.message, /the UID in the bound object reference \(not-its-uid\) does not match the UID in record/);

  // A token bound to the pod dies with it (and one bound to a Secret with the Secret).
  const issued = await h.request(
    'POST',
    '/api/v1/namespaces/default/serviceaccounts/default/token',
    request({ apiVersion: 'v1', kind: 'Pod', name: 'runner' }),
  );
  const token = issued.body.status.token;
  t.ok(await h.tokens.verify(token));
  t.equal((await h.request('DELETE', '/api/v1/namespaces/default/pods/runner?gracePeriodSeconds=0')).status, 200);
  t.equal(await h.tokens.verify(token), undefined, 'gone with its pod');
  t.equal(
    (await h.request('POST', '/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'anchor' } }))
      .status,
    201,
  );
  const toSecret = (
    await h.request(
      'POST',
      '/api/v1/namespaces/default/serviceaccounts/default/token',
      request({ apiVersion: 'v1', kind: 'Secret', name: 'anchor' }),
    )
  ).body.status.token;
  t.ok(await h.tokens.verify(toSecret));
  await h.request('DELETE', '/api/v1/namespaces/default/secrets/anchor');
  t.equal(await h.tokens.verify(toSecret), undefined, 'gone with its Secret');

  // Claims: status only, and only its capacity and conditions.
  const claim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };
  t.equal((await h.request('POST', '/api/v1/namespaces/default/persistentvolumeclaims', claim)).status, 201);
  t.equal(
    (
      await h.request('POST', '/api/v1/namespaces/default/pods', {
        ...pod('user', 'n1'),
        spec: { ...pod('user', 'n1').spec, volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] },
      })
    ).status,
    201,
  );
  const claimStatus = (body: unknown) =>
    as(h, n1, 'PATCH', '/api/v1/namespaces/default/persistentvolumeclaims/data/status', body, 'application/merge-patch+json');
  t.equal((await claimStatus({ status: { capacity: { storage: '2Gi' } } })).status, 200);
  t.equal((await as(h, n1, 'GET', '/api/v1/namespaces/default/persistentvolumeclaims/data')).status, 200, "its pod's claim");
});

t.test('CertificateSigningRequests: the requester filled in, approval and status each their part', async (t) => {
  const h = await apiHarness(t);
  const { requestPem } = await createCertificateRequest('system:node:n1', ['system:nodes']);
  const csr = {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: 'r1' },
    spec: {
      request: Buffer.from(requestPem).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: ['digital signature', 'client auth'],
      username: 'spoofed',
    },
    status: { certificate: 'Zm9v' },
  };
  const created = await as(h, node('n1'), 'POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', csr);
  t.equal(created.status, 201);
  t.equal(created.body.spec.username, 'system:node:n1', 'the requester, not what the body said');
  t.same(created.body.spec.groups, ['system:nodes', 'system:authenticated']);
  t.notOk(created.body.status?.certificate, 'no status on create');
  t.equal(
    (await as(h, node('n1'), 'PUT', '/apis/certificates.k8s.io/v1/certificatesigningrequests/r1/approval', created.body)).status,
    403,
    'a node does not approve',
  );
  const approved = { ...created.body, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'Test' }], certificate: 'Zm9v' } };
  const put = await h.request('PUT', '/apis/certificates.k8s.io/v1/certificatesigningrequests/r1/approval', approved);
  t.equal(put.status, 200);
  t.match(put.body.status.conditions[0], { type: 'Approved', reason: 'Test', lastUpdateTime: String, lastTransitionTime: String });
  t.notOk(put.body.status.certificate, 'approval sets no certificate');
  const statusOnly = {
    ...put.body,
    status: {
      conditions: [],
      certificate: Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64'),
    },
  };
  const signed = await h.request('PUT', '/apis/certificates.k8s.io/v1/certificatesigningrequests/r1/status', statusOnly);
  t.equal(signed.status, 200);
  t.match(signed.body.status.conditions, [{ type: 'Approved' }], 'the verdict stays when the signer writes the status');
  t.match((await h.request('GET', '/apis/certificates.k8s.io/v1/certificatesigningrequests/r1/approval')).body.metadata, { name: 'r1' });
});

t.test('node passwords: a name belongs to its first machine until its Node is deleted', async (t) => {
  const hash = await hashNodePassword('s3cret');
  t.match(hash, /^\$1:[0-9a-f]{16}:15:8:1:[0-9a-f]{128}$/);
  t.ok(await verifyNodePassword(hash, 's3cret'));
  t.notOk(await verifyNodePassword(hash, 'other'));
  t.notOk(await verifyNodePassword('garbage', 's3cret'));
  const h = await apiHarness(t);
  await ensureNodePassword(h.objects, h.registry, 'pi', 'first');
  await ensureNodePassword(h.objects, h.registry, 'pi', 'first');
  await t.rejects(ensureNodePassword(h.objects, h.registry, 'pi', 'second'), {
    code: 403,
    message: /^Node password rejected, duplicate hostname/,
  });
  const secret = (await h.request('GET', '/api/v1/namespaces/kube-system/secrets/pi.node-password.skiff')).body;
  t.match(secret, { type: 'skiff.io/node-password', immutable: true });
  t.notMatch(JSON.stringify(secret), /first/, 'only a hash is kept');
  t.equal((await h.request('POST', '/api/v1/nodes', nodeObject('pi'))).status, 201);
  t.equal((await h.request('DELETE', '/api/v1/nodes/pi')).status, 200);
  await ensureNodePassword(h.objects, h.registry, 'pi', 'second');
});
