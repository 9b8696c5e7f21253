// What a node's ingress may read: Ingresses and IngressClasses, and by name only the TLS Secrets that
// an Ingress of Skiff's class names in its own namespace; no other Secret, and no list or watch.
import t from 'tap';
import type { UserInfo } from '../../src/apiserver/authn.js';
import { apiHarness, type Harness } from './harness.js';

const node: UserInfo = { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };

async function asNode(h: Harness, method: string, url: string) {
  const res = await h.app.fetch(new Request(`https://skiff.test${url}`, { method }), { user: node });
  await res.text();
  return res.status;
}

const secret = (name: string, namespace = 'default') => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  type: 'kubernetes.io/tls',
  data: { 'tls.crt': '', 'tls.key': '' },
});

const ingress = (name: string, secretName: string, className?: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name },
  spec: {
    ...(className ? { ingressClassName: className } : {}),
    tls: [{ hosts: ['a.example.com'], secretName }],
    defaultBackend: { service: { name: 'web', port: { number: 80 } } },
  },
});

const ingressClass = (name: string, controller: string, isDefault = false) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name, annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {} },
  spec: { controller },
});

t.test("a node gets the TLS Secrets of Skiff's Ingresses by name, and nothing more", async (t) => {
  const h = await apiHarness(t);
  const ok = async (method: string, url: string, body: unknown) => t.ok((await h.request(method, url, body)).status < 300, url);
  await ok('POST', '/apis/networking.k8s.io/v1/ingressclasses', ingressClass('skiff', 'skiff.io/ingress'));
  await ok('POST', '/apis/networking.k8s.io/v1/ingressclasses', ingressClass('nginx', 'k8s.io/ingress-nginx'));
  await ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
  for (const name of ['served', 'nginx-tls', 'classless-tls', 'private'])
    await ok('POST', '/api/v1/namespaces/default/secrets', secret(name));
  await ok('POST', '/api/v1/namespaces/other/secrets', secret('served', 'other'));
  await ok('POST', '/apis/networking.k8s.io/v1/namespaces/default/ingresses', ingress('ours', 'served', 'skiff'));
  await ok('POST', '/apis/networking.k8s.io/v1/namespaces/default/ingresses', ingress('theirs', 'nginx-tls', 'nginx'));
  await ok('POST', '/apis/networking.k8s.io/v1/namespaces/default/ingresses', ingress('classless', 'classless-tls'));

  t.equal(await asNode(h, 'GET', '/apis/networking.k8s.io/v1/ingresses'), 200, 'lists Ingresses');
  t.equal(await asNode(h, 'GET', '/apis/networking.k8s.io/v1/ingressclasses'), 200, 'lists IngressClasses');
  t.equal(await asNode(h, 'GET', '/api/v1/namespaces/default/secrets/served'), 200, "gets the TLS Secret of Skiff's Ingress");
  t.equal(await asNode(h, 'GET', '/api/v1/namespaces/other/secrets/served'), 403, 'not the same name in another namespace');
  t.equal(await asNode(h, 'GET', '/api/v1/namespaces/default/secrets/nginx-tls'), 403, "not another controller's");
  t.equal(
    await asNode(h, 'GET', '/api/v1/namespaces/default/secrets/classless-tls'),
    403,
    'not a classless one while Skiff is not the default',
  );
  t.equal(await asNode(h, 'GET', '/api/v1/namespaces/default/secrets/private'), 403, 'not one no Ingress names');
  t.equal(await asNode(h, 'GET', '/api/v1/namespaces/default/secrets'), 403, 'no list');
  t.equal(await asNode(h, 'GET', '/api/v1/namespaces/default/secrets?watch=true&fieldSelector=metadata.name%3Dserved'), 403, 'no watch');
  t.equal(await asNode(h, 'DELETE', '/api/v1/namespaces/default/secrets/served'), 403, 'no write');

  const patch = { metadata: { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } };
  const patched = await h.request('PATCH', '/apis/networking.k8s.io/v1/ingressclasses/skiff', patch, {
    'content-type': 'application/merge-patch+json',
  });
  t.equal(patched.status, 200);
  t.equal(await asNode(h, 'GET', '/api/v1/namespaces/default/secrets/classless-tls'), 200, 'a classless one once Skiff is the default');
  t.equal((await h.request('DELETE', '/apis/networking.k8s.io/v1/namespaces/default/ingresses/ours')).status, 200);
  t.equal(await asNode(h, 'GET', '/api/v1/namespaces/default/secrets/served'), 403, 'no longer once its Ingress is gone');
});
