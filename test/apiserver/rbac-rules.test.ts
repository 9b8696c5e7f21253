// RBAC's pure parts: rule matching, coverage for escalation checks and their message, aggregation,
// and the reconciliation of default roles and bindings.
import t from 'tap';
import { requestInfo } from '../../src/apiserver/authz/request-info.js';
import { compactRules, compactString, covers } from '../../src/apiserver/authz/rbac/covers.js';
import { reconcileBinding, reconcileRole } from '../../src/apiserver/authz/rbac/reconcile.js';
import { clusterRole, clusterRoleBinding, AUTO_UPDATE } from '../../src/apiserver/authz/rbac/policy.js';
import { ruleAllows, type Rule } from '../../src/apiserver/authz/rbac/rules.js';
import { aggregatedRules } from '../../src/controllers/clusterrole-aggregation.js';

const info = (method: string, path: string) => requestInfo(method, new URL(`https://api${path}`));
const rule = (r: Partial<Rule>): Rule => ({ verbs: [], ...r });

t.test('a rule allows a request by verb, group, resource, subresource and name', async (t) => {
  const pods = rule({ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] });
  t.ok(ruleAllows(pods, info('GET', '/api/v1/namespaces/ns/pods')), 'list');
  t.ok(ruleAllows(pods, info('GET', '/api/v1/namespaces/ns/pods/p')), 'get');
  t.notOk(ruleAllows(pods, info('DELETE', '/api/v1/namespaces/ns/pods/p')), 'not delete');
  t.notOk(ruleAllows(pods, info('GET', '/apis/apps/v1/namespaces/ns/deployments')), 'not another resource');
  t.notOk(ruleAllows(pods, info('GET', '/api/v1/namespaces/ns/pods/p/log')), 'a subresource is not the resource');
  t.notOk(ruleAllows(rule({ verbs: ['get'], apiGroups: ['apps'], resources: ['pods'] }), info('GET', '/api/v1/pods')), 'group');

  t.ok(ruleAllows(rule({ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }), info('GET', '/api/v1/namespaces/n/pods/p/log')));
  const anyStatus = rule({ verbs: ['update'], apiGroups: ['*'], resources: ['*/status'] });
  t.ok(ruleAllows(anyStatus, info('PUT', '/apis/apps/v1/namespaces/n/deployments/d/status')), '*/status');
  t.notOk(ruleAllows(anyStatus, info('PUT', '/apis/apps/v1/namespaces/n/deployments/d')), '*/status is not the resource');
  t.notOk(ruleAllows(anyStatus, info('PUT', '/apis/apps/v1/namespaces/n/deployments/d/scale')), 'nor another subresource');

  const one = rule({ verbs: ['get', 'update'], apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['mine'] });
  t.ok(ruleAllows(one, info('GET', '/apis/coordination.k8s.io/v1/namespaces/n/leases/mine')));
  t.notOk(ruleAllows(one, info('GET', '/apis/coordination.k8s.io/v1/namespaces/n/leases/other')), 'another name');
  t.notOk(ruleAllows({ ...one, verbs: ['list'] }, info('GET', '/apis/coordination.k8s.io/v1/namespaces/n/leases')), 'a list has no name');
  t.ok(
    ruleAllows(
      { ...one, verbs: ['list'] },
      info('GET', '/apis/coordination.k8s.io/v1/namespaces/n/leases?fieldSelector=metadata.name%3Dmine'),
    ),
    'a list of one object by name is authorized as that object',
  );
  t.ok(ruleAllows(rule({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }), info('DELETE', '/apis/x.io/v1/things')), 'wildcards');
});

t.test('non-resource URLs: exact, * and prefix*', async (t) => {
  const health = rule({ verbs: ['get'], nonResourceURLs: ['/healthz', '/apis/*'] });
  t.ok(ruleAllows(health, info('GET', '/healthz')));
  t.notOk(ruleAllows(health, info('GET', '/healthz/ping')), 'exact');
  t.ok(ruleAllows(health, info('GET', '/apis/apps/v1')), 'prefix');
  t.notOk(ruleAllows(health, info('POST', '/healthz')), 'verb');
  t.notOk(ruleAllows(health, info('GET', '/api/v1/pods')), 'resources are not URLs');
  t.ok(ruleAllows(rule({ verbs: ['*'], nonResourceURLs: ['*'] }), info('GET', '/metrics')));
});

t.test('coverage as upstream checks escalation, and the missing rules as it prints them', async (t) => {
  const owner: Rule[] = [
    rule({ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'secrets'] }),
    rule({ verbs: ['update'], apiGroups: ['*'], resources: ['*/scale'] }),
    rule({ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }),
    rule({ verbs: ['get'], nonResourceURLs: ['/logs/*'] }),
  ];
  t.ok(covers(owner, [rule({ verbs: ['get'], apiGroups: [''], resources: ['pods'] })]).covered);
  t.ok(covers(owner, [rule({ verbs: ['update'], apiGroups: ['apps'], resources: ['deployments/scale'] })]).covered, '*/scale');
  t.ok(covers(owner, [rule({ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] })]).covered, 'named');
  t.notOk(covers(owner, [rule({ verbs: ['get'], apiGroups: [''], resources: ['configmaps'] })]).covered, 'unnamed is more');
  t.ok(covers(owner, [rule({ verbs: ['get'], nonResourceURLs: ['/logs/kube'] })]).covered, 'URL prefix');
  const { covered, missing } = covers(owner, [
    rule({ verbs: ['get', 'delete', 'watch'], apiGroups: [''], resources: ['pods'] }),
    rule({ verbs: ['get'], nonResourceURLs: ['/metrics'] }),
  ]);
  t.notOk(covered);
  t.same(compactRules(missing).map(compactString).sort(), [
    '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "watch"]}',
    '{NonResourceURLs:["/metrics"], Verbs:["get"]}',
  ]);
  t.ok(
    covers([rule({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] })], [rule({ verbs: ['x'], apiGroups: ['y'], resources: ['z/w'] })])
      .covered,
  );
});

t.test('aggregation: the rules of the selected roles, each once, in name order, never its own', async (t) => {
  const role = (name: string, labels: Record<string, string>, rules: Rule[], selector?: Record<string, string>) => ({
    metadata: { name, labels },
    rules,
    ...(selector ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: selector }] } } : {}),
  });
  const pods = rule({ verbs: ['get'], apiGroups: [''], resources: ['pods'] });
  const cms = rule({ verbs: ['get'], apiGroups: [''], resources: ['configmaps'] });
  const view = role('view', {}, [], { 'to-view': 'true' });
  const all = [view, role('b', { 'to-view': 'true' }, [cms, pods]), role('a', { 'to-view': 'true' }, [pods]), role('c', {}, [cms])];
  t.same(aggregatedRules(view, all), [pods, cms]);
  t.same(aggregatedRules({ ...view, metadata: { name: 'view', labels: { 'to-view': 'true' } } }, all), [pods, cms], 'not itself');
});

t.test('reconciling a default role adds what it lacks and keeps what was added', async (t) => {
  const expected = clusterRole('r', [rule({ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] })]);
  t.equal(reconcileRole(structuredClone(expected), expected), undefined, 'nothing to do');
  const edited = {
    ...structuredClone(expected),
    metadata: { ...expected.metadata, labels: { mine: 'yes' } },
    rules: [
      rule({ verbs: ['get'], apiGroups: [''], resources: ['pods'] }),
      rule({ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }),
    ],
  };
  const next = reconcileRole(edited, expected)!;
  t.same(next.rules, [...edited.rules, rule({ verbs: ['list'], apiGroups: [''], resources: ['pods'] })], 'the missing verb added');
  t.match(next.metadata!.labels, { mine: 'yes', 'kubernetes.io/bootstrapping': 'rbac-defaults' });
  const pinned = { ...edited, metadata: { ...edited.metadata, annotations: { [AUTO_UPDATE]: 'false' } } };
  t.equal(reconcileRole(pinned, expected), undefined, 'autoupdate=false is left alone');
});

t.test('reconciling a default binding adds its subjects and recreates it for another role', async (t) => {
  const expected = clusterRoleBinding('b', [{ kind: 'Group', name: 'g', apiGroup: 'rbac.authorization.k8s.io' }], 'r');
  t.equal(reconcileBinding(structuredClone(expected), expected), undefined);
  const extra = { ...structuredClone(expected), subjects: [{ kind: 'User', name: 'u' }] };
  const r = reconcileBinding(extra, expected)!;
  t.equal(r.recreate, false);
  t.same(
    r.binding.subjects?.map((s) => s.name),
    ['u', 'g'],
  );
  const moved = { ...structuredClone(expected), roleRef: { ...expected.roleRef, name: 'other' } };
  t.equal(reconcileBinding(moved, expected)?.recreate, true);
});
