// The Node authorizer: the graph of what each node's pods reference, and its decisions.
import t from 'tap';
import { NodeGraph, podReferences, volumeSecrets } from '../../src/apiserver/authz/node-graph.js';
import { NodeAuthorizer, nodeIdentity } from '../../src/apiserver/authz/node.js';
import { forbidden, union } from '../../src/apiserver/authz/authorizer.js';
import { requestInfo } from '../../src/apiserver/authz/request-info.js';
import type { UserInfo } from '../../src/apiserver/authn.js';

const pod = (name: string, node: string | undefined, spec: Record<string, unknown> = {}, namespace = 'default') => ({
  metadata: { name, namespace },
  spec: { nodeName: node, serviceAccountName: 'default', containers: [{ name: 'c' }], ...spec },
});

const full = pod('p', 'n1', {
  serviceAccountName: 'runner',
  imagePullSecrets: [{ name: 'pull' }],
  initContainers: [{ name: 'i', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'init-env', key: 'k' } } }] }],
  containers: [
    {
      name: 'c',
      envFrom: [{ secretRef: { name: 'env-from' } }, { configMapRef: { name: 'cm-from' } }],
      env: [{ name: 'B', valueFrom: { configMapKeyRef: { name: 'cm-key', key: 'k' } } }],
    },
  ],
  ephemeralContainers: [{ name: 'e', envFrom: [{ secretRef: { name: 'debug' } }] }],
  volumes: [
    { name: 'a', secret: { secretName: 'vol' } },
    { name: 'b', configMap: { name: 'cm-vol' } },
    { name: 'c', projected: { sources: [{ secret: { name: 'proj' } }, { configMap: { name: 'cm-proj' } }, { serviceAccountToken: {} }] } },
    { name: 'd', persistentVolumeClaim: { claimName: 'data' } },
    { name: 'scratch', ephemeral: { volumeClaimTemplate: {} } },
    { name: 'f', csi: { driver: 'x', nodePublishSecretRef: { name: 'csi' } } },
    { name: 'g', rbd: { secretRef: { name: 'ceph' } } },
  ],
});

t.test('a pod references its Secrets, ConfigMaps, claims and service account', async (t) => {
  t.same(podReferences(full), {
    secrets: ['ceph', 'csi', 'debug', 'env-from', 'init-env', 'proj', 'pull', 'vol'],
    configMaps: ['cm-from', 'cm-key', 'cm-proj', 'cm-vol'],
    claims: ['data', 'p-scratch'],
    serviceAccount: 'runner',
  });
  t.same(volumeSecrets({ spec: { csi: { nodeStageSecretRef: { name: 's', namespace: 'storage' } }, rbd: { secretRef: { name: 'r' } } } }), [
    'default/r',
    'storage/s',
  ]);
});

t.test('the graph: node <- pod <- secret/configmap/pvc/sa, node <- pod <- pvc <- pv <- secret', async (t) => {
  const g = new NodeGraph();
  g.setPod(full);
  g.setPod(pod('other', 'n2', { volumes: [{ name: 'x', secret: { secretName: 'theirs' } }] }));
  g.setPod(pod('pending', undefined, { volumes: [{ name: 'x', secret: { secretName: 'unbound' } }] }));
  t.ok(g.hasPath('n1', 'secret', 'default', 'vol'));
  t.ok(g.hasPath('n1', 'configmap', 'default', 'cm-key'));
  t.ok(g.hasPath('n1', 'pvc', 'default', 'p-scratch'));
  t.ok(g.hasPath('n1', 'serviceaccount', 'default', 'runner'));
  t.ok(g.hasPath('n1', 'pod', 'default', 'p'));
  t.notOk(g.hasPath('n1', 'secret', 'default', 'theirs'), "another node's pod's secret");
  t.notOk(g.hasPath('n1', 'secret', 'other-ns', 'vol'), 'the same name in another namespace');
  t.notOk(g.hasPath('n1', 'secret', 'default', 'unbound'), 'a pod not bound yet links nothing');
  t.notOk(g.hasPath('n2', 'secret', 'default', 'vol'));

  g.setVolume({
    metadata: { name: 'pv1' },
    spec: { claimRef: { namespace: 'default', name: 'data' }, csi: { nodePublishSecretRef: { name: 'pvs', namespace: 'default' } } },
  });
  g.setVolume({ metadata: { name: 'pv2' }, spec: { claimRef: { namespace: 'default', name: 'elsewhere' } } });
  t.ok(g.hasPath('n1', 'pv', '', 'pv1'));
  t.notOk(g.hasPath('n1', 'pv', '', 'pv2'));
  t.ok(g.hasPath('n1', 'secret', 'default', 'pvs'), "the volume's secret, through its claim");
  t.notOk(g.hasPath('n2', 'secret', 'default', 'pvs'));

  // Two pods share a secret: it stays reachable until the last of them goes.
  g.setPod(pod('twin', 'n1', { volumes: [{ name: 'a', secret: { secretName: 'vol' } }] }));
  g.deletePod('default/p');
  t.ok(g.hasPath('n1', 'secret', 'default', 'vol'));
  t.notOk(g.hasPath('n1', 'configmap', 'default', 'cm-key'));
  t.notOk(g.hasPath('n1', 'pv', '', 'pv1'), 'the claim went with the pod');
  g.deletePod('default/twin');
  t.notOk(g.hasPath('n1', 'secret', 'default', 'vol'));
  // A pod moved (deleted and recreated elsewhere under the same name) counts for its new node only.
  g.setPod(pod('other', 'n1', { volumes: [{ name: 'x', secret: { secretName: 'theirs' } }] }));
  t.ok(g.hasPath('n1', 'secret', 'default', 'theirs'));
  t.notOk(g.hasPath('n2', 'secret', 'default', 'theirs'));
  g.deleteVolume('pv1');
  t.notOk(g.hasPath('n1', 'pv', '', 'pv1'));
});

const node = (name: string): UserInfo => ({ username: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] });
const info = (method: string, path: string) => requestInfo(method, new URL(`https://api${path}`));

t.test('node identity', async (t) => {
  t.same(nodeIdentity(node('n1')), { isNode: true, nodeName: 'n1' });
  t.same(nodeIdentity({ username: 'system:node:n1', groups: [] }), { isNode: false, nodeName: '' }, 'the group is needed too');
  t.same(nodeIdentity({ username: 'alice', groups: ['system:nodes'] }), { isNode: false, nodeName: '' });
  t.same(nodeIdentity({ username: 'system:node:', groups: ['system:nodes'] }), { isNode: true, nodeName: '' });
});

t.test('decisions', async (t) => {
  const g = new NodeGraph();
  g.setPod(full);
  g.setPod(pod('other', 'n2', { volumes: [{ name: 'x', secret: { secretName: 'theirs' } }] }));
  const authz = new NodeAuthorizer(g);
  const decide = async (user: UserInfo, method: string, path: string) => (await authz.authorize(user, info(method, path))).decision;
  const n1 = node('n1');

  t.equal(await decide(n1, 'GET', '/api/v1/namespaces/default/secrets/vol'), 'allow');
  t.equal(await decide(n1, 'GET', '/api/v1/namespaces/default/secrets/theirs'), 'no-opinion');
  t.equal(await decide(n1, 'GET', '/api/v1/namespaces/default/secrets'), 'no-opinion', 'no listing of secrets');
  t.equal(await decide(n1, 'PUT', '/api/v1/namespaces/default/secrets/vol'), 'no-opinion', 'read only');
  t.equal(await decide(n1, 'GET', '/api/v1/namespaces/default/configmaps/cm-vol'), 'allow');
  t.equal(await decide(n1, 'GET', '/api/v1/namespaces/default/persistentvolumeclaims/data'), 'allow');
  t.equal(await decide(n1, 'POST', '/api/v1/namespaces/default/serviceaccounts/runner/token'), 'allow');
  t.equal(await decide(n1, 'POST', '/api/v1/namespaces/default/serviceaccounts/admin/token'), 'no-opinion');
  t.equal(await decide(n1, 'GET', '/api/v1/namespaces/default/serviceaccounts/runner'), 'no-opinion');

  // Every pod may be read: the node's NetworkPolicy part follows its pods' peers on other nodes.
  t.equal(await decide(n1, 'GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1'), 'allow');
  t.equal(await decide(n1, 'GET', '/api/v1/pods?watch=true'), 'allow');
  t.equal(await decide(n1, 'GET', '/api/v1/namespaces/default/pods/other'), 'allow');
  t.equal(await decide(n1, 'PATCH', '/api/v1/namespaces/default/pods/p/status'), 'allow');
  t.equal(await decide(n1, 'PATCH', '/api/v1/namespaces/default/pods/other/status'), 'no-opinion');
  t.equal(await decide(n1, 'DELETE', '/api/v1/namespaces/default/pods/p'), 'allow');
  t.equal(await decide(n1, 'DELETE', '/api/v1/namespaces/default/pods/other'), 'no-opinion');
  t.equal(await decide(n1, 'PATCH', '/api/v1/namespaces/default/pods/p'), 'no-opinion', 'no spec changes');
  t.equal(await decide(n1, 'GET', '/api/v1/namespaces/default/pods/p/log'), 'no-opinion');

  t.equal(await decide(n1, 'GET', '/api/v1/nodes'), 'allow');
  t.equal(await decide(n1, 'POST', '/api/v1/nodes'), 'allow');
  t.equal(await decide(n1, 'PATCH', '/api/v1/nodes/n1'), 'allow');
  t.equal(await decide(n1, 'PATCH', '/api/v1/nodes/n1/status'), 'allow');
  t.equal(await decide(n1, 'PATCH', '/api/v1/nodes/n2'), 'no-opinion');
  t.equal(await decide(n1, 'PUT', '/api/v1/nodes/n2/status'), 'no-opinion');
  t.equal(await decide(n1, 'DELETE', '/api/v1/nodes/n1'), 'no-opinion');

  t.equal(await decide(n1, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1'), 'allow');
  t.equal(await decide(n1, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases'), 'allow');
  t.equal(await decide(n1, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n2'), 'no-opinion');
  t.equal(await decide(n1, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/n1'), 'no-opinion');
  t.equal(await decide(n1, 'GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases'), 'no-opinion');

  t.equal(await decide(n1, 'GET', '/api/v1/services'), 'allow');
  t.equal(await decide(n1, 'GET', '/apis/discovery.k8s.io/v1/endpointslices?watch=true'), 'allow');
  t.equal(await decide(n1, 'POST', '/api/v1/namespaces/default/events'), 'allow');
  t.equal(await decide(n1, 'POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests'), 'allow');
  t.equal(await decide(n1, 'PUT', '/apis/certificates.k8s.io/v1/certificatesigningrequests/x/approval'), 'no-opinion');
  t.equal(await decide(n1, 'GET', '/v1-skiff/config'), 'allow');
  t.equal(await decide(n1, 'GET', '/apis/apps/v1/deployments'), 'no-opinion');
  t.equal(await decide(n1, 'DELETE', '/api/v1/namespaces/default/services/s'), 'no-opinion');

  const alice = { username: 'alice', groups: ['system:authenticated'] };
  t.equal(await decide(alice, 'GET', '/api/v1/namespaces/default/secrets/vol'), 'no-opinion', 'not a node: no opinion');
  t.equal(await decide({ username: 'system:node:', groups: ['system:nodes'] }, 'GET', '/api/v1/services'), 'no-opinion');
});

t.test('a refusal says why, in upstream words', async (t) => {
  const g = new NodeGraph();
  const chain = union(new NodeAuthorizer(g), { authorize: () => ({ decision: 'no-opinion' }) });
  const i = info('GET', '/api/v1/namespaces/default/secrets/theirs');
  const d = await chain.authorize(node('n1'), i);
  t.equal(d.decision, 'no-opinion');
  t.equal(
    forbidden(node('n1'), i, d.reason).message,
    'secrets "theirs" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "default": ' +
      "no relationship found between node 'n1' and this object",
  );
});
