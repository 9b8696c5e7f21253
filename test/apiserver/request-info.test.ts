// What authorization sees of a request: upstream's RequestInfo from the method and URL.
import t from 'tap';
import { forbidden } from '../../src/apiserver/authz/authorizer.js';
import { requestInfo } from '../../src/apiserver/authz/request-info.js';

const info = (method: string, path: string) => requestInfo(method, new URL(`https://api${path}`));

t.test('resource requests: verb, group, resource, subresource, namespace, name', async (t) => {
  t.match(info('GET', '/api/v1/namespaces/default/pods'), {
    isResourceRequest: true,
    verb: 'list',
    apiGroup: '',
    resource: 'pods',
    namespace: 'default',
    name: '',
  });
  t.match(info('GET', '/api/v1/namespaces/default/pods?watch=true'), { verb: 'watch' });
  t.match(info('GET', '/api/v1/watch/namespaces/default/pods/p'), { verb: 'watch', name: 'p' });
  t.match(info('GET', '/api/v1/namespaces/default/pods/p/log'), { verb: 'get', resource: 'pods', name: 'p', subresource: 'log' });
  t.match(info('POST', '/api/v1/namespaces/default/pods/p/exec'), { verb: 'create', subresource: 'exec' });
  t.match(info('DELETE', '/apis/apps/v1/namespaces/web/deployments'), { verb: 'deletecollection', apiGroup: 'apps', namespace: 'web' });
  t.match(info('PATCH', '/apis/apps/v1/namespaces/web/deployments/d/scale'), { verb: 'patch', subresource: 'scale', name: 'd' });
  t.match(info('GET', '/api/v1/nodes'), { verb: 'list', resource: 'nodes', namespace: '' });
  t.match(info('GET', '/api/v1/namespaces/kube-system'), {
    verb: 'get',
    resource: 'namespaces',
    name: 'kube-system',
    namespace: 'kube-system',
  });
  t.match(info('PUT', '/api/v1/namespaces/gone/finalize'), {
    verb: 'update',
    resource: 'namespaces',
    name: 'gone',
    subresource: 'finalize',
  });
  t.match(info('GET', '/apis/apps/v1'), { isResourceRequest: false, verb: 'get', path: '/apis/apps/v1' });
  t.match(info('GET', '/healthz'), { isResourceRequest: false, verb: 'get', path: '/healthz' });
});

t.test('a refusal in upstream words', async (t) => {
  const user = { username: 'alice', groups: [] };
  t.equal(
    forbidden(user, info('GET', '/api/v1/namespaces/default/pods')).message,
    'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"',
  );
  t.equal(
    forbidden(user, info('GET', '/apis/apps/v1/namespaces/web/deployments/d')).message,
    'deployments.apps "d" is forbidden: User "alice" cannot get resource "deployments" in API group "apps" in the namespace "web"',
  );
  t.equal(
    forbidden(user, info('GET', '/api/v1/nodes')).message,
    'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope',
  );
  t.equal(forbidden(user, info('GET', '/metrics')).message, 'forbidden: User "alice" cannot get path "/metrics"');
});
