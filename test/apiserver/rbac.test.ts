// RBAC through the API: decisions and their words, the cache following bindings, escalation checks,
// anonymous requests, impersonation and the review kinds, each asked in-process as some user.
import t, { type Test } from 'tap';
import type { UserInfo } from '../../src/apiserver/authn.js';
import { apiHarness, admin, type Harness } from './harness.js';
import { eventually } from '../helpers/eventually.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport } from '../../src/client/transport.js';
import { SharedInformers } from '../../src/client/shared-informers.js';
import { EventRecorder } from '../../src/client/event-recorder.js';
import { ClusterRoleAggregationController } from '../../src/controllers/clusterrole-aggregation.js';

const alice: UserInfo = { username: 'alice', groups: ['devs', 'system:authenticated'] };

/** A request as `user` (none: anonymous), answering status and parsed body. */
async function as(
  h: Harness,
  user: UserInfo | undefined,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const req = new Request(`https://skiff.test${url}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
  const res = await h.app.fetch(req, user ? { user } : {});
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

/** admin, edit and view get their rules from the aggregation controller, as upstream's do. */
async function aggregating(t: Test, h: Harness): Promise<void> {
  const api = new ApiClient(inProcessTransport(h.app, admin));
  const informers = new SharedInformers(api);
  const controller = new ClusterRoleAggregationController({
    api,
    informers,
    recorder: (c) => new EventRecorder(api, c),
    client: (name) => api.as(name),
  });
  const stop = new AbortController();
  informers.start();
  await informers.synced();
  const running = controller.run(stop.signal);
  t.teardown(async () => {
    stop.abort();
    informers.stop();
    await running;
  });
}

const binding = (kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, role: string, subject: object, namespace?: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  roleRef: {
    apiGroup: 'rbac.authorization.k8s.io',
    kind: role.startsWith('Role:') ? 'Role' : 'ClusterRole',
    name: role.replace(/^Role:/, ''),
  },
  subjects: [subject],
});
const user = (name: string) => ({ kind: 'User', name, apiGroup: 'rbac.authorization.k8s.io' });

async function ssar(h: Harness, who: UserInfo, attrs: object) {
  const r = await as(h, who, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: attrs,
  });
  return r.body.status as { allowed: boolean; reason?: string };
}

t.test('a user may do what their bindings allow, and is refused the rest in upstream words', async (t) => {
  const h = await apiHarness(t);
  await aggregating(t, h);
  const denied = await as(h, alice, 'GET', '/api/v1/namespaces/default/pods');
  t.equal(denied.status, 403);
  t.equal(denied.body.message, 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"');
  t.equal(denied.body.reason, 'Forbidden');

  t.equal(
    (
      await h.request(
        'POST',
        '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings',
        binding('RoleBinding', 'devs-view', 'view', { kind: 'Group', name: 'devs' }, 'default'),
      )
    ).status,
    201,
  );
  await eventually(async () => (await as(h, alice, 'GET', '/api/v1/namespaces/default/pods')).status === 200, {
    what: 'the binding in force',
  });
  t.equal((await as(h, alice, 'GET', '/api/v1/namespaces/kube-system/pods')).status, 403, 'only in its namespace');
  t.equal((await as(h, alice, 'GET', '/api/v1/namespaces/default/secrets')).status, 403, 'view reads no secrets');
  t.equal((await as(h, alice, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'c' } })).status, 403, 'nor writes');
  const review = await ssar(h, alice, { resourceAttributes: { namespace: 'default', verb: 'list', resource: 'pods' } });
  t.same(review, { allowed: true, reason: 'RBAC: allowed by RoleBinding "devs-view/default" of ClusterRole "view" to Group "devs"' });

  // A binding to a role that is not there allows nothing, and says so.
  await h.request(
    'POST',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    binding('ClusterRoleBinding', 'ghost', 'ghost', user('alice')),
  );
  await eventually(async () => (await as(h, alice, 'GET', '/api/v1/nodes')).body.message?.includes('not found'), { what: 'the reason' });
  t.equal(
    (await as(h, alice, 'GET', '/api/v1/nodes')).body.message,
    'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope: ' +
      'RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found',
  );

  // system:masters may do everything, whatever RBAC's objects say.
  const root: UserInfo = { username: 'root', groups: ['system:masters'] };
  t.equal((await as(h, root, 'GET', '/api/v1/secrets')).status, 200);
});

t.test('anonymous requests reach health and version, and get 401 elsewhere', async (t) => {
  const h = await apiHarness(t);
  for (const path of ['/healthz', '/livez', '/readyz', '/version']) t.equal((await as(h, undefined, 'GET', path)).status, 200, path);
  for (const path of ['/api', '/apis', '/api/v1/namespaces/default/pods', '/openapi/v2', '/metrics']) {
    const r = await as(h, undefined, 'GET', path);
    t.equal(r.status, 401, path);
    t.equal(r.body.reason, 'Unauthorized');
  }
  // Upstream's system:discovery is for authenticated users; an operator may open it to everyone.
  await h.request(
    'POST',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    binding('ClusterRoleBinding', 'open-discovery', 'system:discovery', { kind: 'Group', name: 'system:unauthenticated' }),
  );
  await eventually(async () => (await as(h, undefined, 'GET', '/api')).status === 200, { what: 'discovery opened' });
});

t.test('impersonation needs the impersonate verb on each user, group, uid and extra', async (t) => {
  const h = await apiHarness(t);
  const whoami = (headers: Record<string, string>, who: UserInfo = alice) =>
    as(
      h,
      who,
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      headers,
    );
  const refused = await whoami({ 'impersonate-user': 'bob' });
  t.equal(refused.status, 403);
  t.equal(
    refused.body.message,
    'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
  );

  await h.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    metadata: { name: 'impersonator' },
    rules: [
      { verbs: ['impersonate'], apiGroups: [''], resources: ['users'], resourceNames: ['bob'] },
      { verbs: ['impersonate'], apiGroups: [''], resources: ['groups'] },
      { verbs: ['impersonate'], apiGroups: [''], resources: ['serviceaccounts'] },
    ],
  });
  await h.request(
    'POST',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    binding('ClusterRoleBinding', 'alice-imp', 'impersonator', user('alice')),
  );
  const asBob = await eventually(
    async () => {
      const r = await whoami({ 'impersonate-user': 'bob', 'impersonate-group': 'ops' });
      return r.status === 201 ? r : undefined;
    },
    { what: 'impersonation allowed' },
  );
  t.same(asBob.body.status.userInfo, { username: 'bob', groups: ['ops', 'system:authenticated'] });
  t.equal((await whoami({ 'impersonate-user': 'carol' })).status, 403, 'only bob');
  const sa = await whoami({ 'impersonate-user': 'system:serviceaccount:default:robot' });
  t.same(sa.body.status.userInfo.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
  const extra = await whoami({ 'impersonate-user': 'bob', 'impersonate-extra-scopes': 'view' });
  t.equal(extra.status, 403);
  t.match(extra.body.message, /User "alice" cannot impersonate resource "userextras\/scopes" in API group "authentication.k8s.io"/);
  t.equal((await whoami({ 'impersonate-group': 'ops' })).status, 500, 'a group without a user');
  // The impersonated user is the one authorized.
  t.equal(
    (await as(h, alice, 'GET', '/api/v1/namespaces/default/pods', undefined, { 'impersonate-user': 'bob' })).body.message,
    'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"',
  );
});

t.test('nobody grants what they do not hold, unless they may escalate or bind', async (t) => {
  const h = await apiHarness(t);
  await aggregating(t, h);
  await h.request('POST', '/api/v1/namespaces', { metadata: { name: 'team' } });
  await h.request(
    'POST',
    '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings',
    binding('RoleBinding', 'alice-admin', 'admin', user('alice'), 'team'),
  );
  // admin holds edit's and view's rules once they are aggregated too.
  const may = (verb: string, group: string, resource: string) =>
    ssar(h, alice, { resourceAttributes: { namespace: 'team', verb, group, resource } }).then((s) => s.allowed);
  await eventually(
    async () =>
      (await may('create', 'rbac.authorization.k8s.io', 'roles')) &&
      (await may('list', '', 'pods')) &&
      (await may('create', 'apps', 'deployments')),
    { what: 'admin in team' },
  );
  const roles = '/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles';
  const role = (name: string, resources: string[]) => ({
    metadata: { name },
    rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources }],
  });
  t.equal((await as(h, alice, 'POST', roles, role('pods', ['pods']))).status, 201, 'what she holds');
  const refused = await as(h, alice, 'POST', roles, role('nodes', ['pods', 'nodes']));
  t.equal(refused.status, 403);
  t.equal(
    refused.body.message,
    'roles.rbac.authorization.k8s.io "nodes" is forbidden: user "alice" (groups=["devs" "system:authenticated"]) is attempting to grant ' +
      'RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get" "list"]}',
  );
  const bindings = '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings';
  const toAdmin = await as(h, alice, 'POST', bindings, binding('RoleBinding', 'bob-root', 'cluster-admin', user('bob'), 'team'));
  t.equal(toAdmin.status, 403);
  t.match(
    toAdmin.body.message,
    /^rolebindings.rbac.authorization.k8s.io "bob-root" is forbidden: .* not currently held:\n\{APIGroups:\["\*"\]/,
  );
  t.equal(
    (await as(h, alice, 'POST', bindings, binding('RoleBinding', 'bob-view', 'view', user('bob'), 'team'))).status,
    201,
    'a role she holds',
  );

  // escalate on roles and bind on cluster-admin, in team only.
  await h.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles', {
    metadata: { name: 'granter' },
    rules: [
      { verbs: ['escalate'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'] },
      { verbs: ['bind'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['cluster-admin'] },
    ],
  });
  await h.request('POST', bindings, binding('RoleBinding', 'alice-granter', 'Role:granter', user('alice'), 'team'));
  await eventually(async () => (await as(h, alice, 'POST', roles, role('nodes', ['pods', 'nodes']))).status === 201, { what: 'escalate' });
  t.equal(
    (await as(h, alice, 'POST', bindings, binding('RoleBinding', 'bob-root', 'cluster-admin', user('bob'), 'team'))).status,
    201,
    'bind',
  );
  const elsewhere = await as(
    h,
    alice,
    'POST',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    binding('ClusterRoleBinding', 'x', 'view', user('bob')),
  );
  t.equal(elsewhere.status, 403, 'no cluster bindings at all');
});

t.test('access reviews ask the chain; rules reviews list what applies', async (t) => {
  const h = await apiHarness(t);
  const sar = (who: UserInfo, spec: object) =>
    as(h, who, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec,
    });
  const refused = await sar(alice, { user: 'bob', resourceAttributes: { verb: 'get', resource: 'pods' } });
  t.equal(refused.status, 403, 'asking about others needs create on subjectaccessreviews');
  const root: UserInfo = { username: 'root', groups: ['system:masters'] };
  t.same((await sar(root, { user: 'bob', resourceAttributes: { verb: 'get', resource: 'pods' } })).body.status, { allowed: false });
  const masters = await sar(root, { user: 'x', groups: ['system:masters'], nonResourceAttributes: { verb: 'get', path: '/metrics' } });
  t.equal(masters.body.status.allowed, true);
  const invalid = await sar(root, { resourceAttributes: { verb: 'get', resource: 'pods' } });
  t.equal(invalid.status, 422);
  t.match(invalid.body.message, /spec.user: Invalid value: "": at least one of user or group must be specified/);
  const neither = await as(h, alice, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: {},
  });
  t.equal(neither.status, 422);
  t.match(neither.body.message, /exactly one of nonResourceAttributes or resourceAttributes must be specified/);

  const local = await as(h, root, 'POST', '/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'LocalSubjectAccessReview',
    spec: { user: 'bob', resourceAttributes: { namespace: 'other', verb: 'get', resource: 'pods' } },
  });
  t.equal(local.status, 422);
  t.match(local.body.message, /spec.resourceAttributes.namespace: Invalid value: "other": must match metadata.namespace/);

  const rules = await as(h, alice, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectRulesReview',
    spec: { namespace: 'default' },
  });
  t.equal(rules.status, 201);
  t.equal(rules.body.status.incomplete, false);
  t.ok(
    rules.body.status.resourceRules.some((r: { resources: string[] }) => r.resources.includes('selfsubjectaccessreviews')),
    'system:basic-user',
  );
  t.ok(rules.body.status.nonResourceRules.some((r: { nonResourceURLs: string[] }) => r.nonResourceURLs.includes('/healthz')));
  t.notOk(
    rules.body.status.resourceRules.some((r: { resources: string[] }) => r.resources.includes('pods')),
    'nothing more',
  );
});

t.test('roles and bindings are validated as upstream validates them', async (t) => {
  const h = await apiHarness(t);
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  const urls = await h.request('POST', `${rbac}/namespaces/default/roles`, {
    metadata: { name: 'r' },
    rules: [{ verbs: ['get'], nonResourceURLs: ['/x'] }],
  });
  t.equal(urls.status, 422);
  t.match(urls.body.message, /rules\[0\].nonResourceURLs: Invalid value: \["\/x"\]: namespaced rules cannot apply to non-resource URLs/);
  const empty = await h.request('POST', `${rbac}/clusterroles`, {
    metadata: { name: 'r' },
    rules: [{ apiGroups: [''], resources: ['pods'] }],
  });
  t.match(empty.body.message, /rules\[0\].verbs: Required value: verbs must contain at least one value/);
  const sa = await h.request('POST', `${rbac}/clusterrolebindings`, {
    metadata: { name: 'b' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'view' },
    subjects: [{ kind: 'ServiceAccount', name: 'robot' }],
  });
  t.equal(sa.status, 422);
  t.match(sa.body.message, /roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"/);
  t.match(sa.body.message, /subjects\[0\].namespace: Required value/);
  const made = await h.request('POST', `${rbac}/namespaces/default/rolebindings`, {
    metadata: { name: 'b' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [
      { kind: 'User', name: 'alice' },
      { kind: 'ServiceAccount', name: 'robot' },
    ],
  });
  t.same(
    made.body.subjects.map((s: { apiGroup: string }) => s.apiGroup),
    ['rbac.authorization.k8s.io', ''],
    'subjects get their group',
  );
  const moved = await h.request(
    'PATCH',
    `${rbac}/namespaces/default/rolebindings/b`,
    { roleRef: { name: 'edit' } },
    {
      'content-type': 'application/merge-patch+json',
    },
  );
  t.equal(moved.status, 422);
  t.match(
    moved.body.message,
    /roleRef: Invalid value: rbac.RoleRef\{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"\}: cannot change roleRef/,
  );
});
