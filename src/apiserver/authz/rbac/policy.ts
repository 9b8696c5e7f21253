// The default ClusterRoles and ClusterRoleBindings every cluster has, as upstream's bootstrap policy
// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go) writes them for the kinds Skiff serves,
// and the few Skiff adds for its agent. Reconciled at every start (reconcile.ts).
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import type { Writable } from '../../../k8s/object.js';
import type { Rule } from './rules.js';

export type DefaultClusterRole = Writable<ClusterRole>;
export type DefaultClusterRoleBinding = Writable<ClusterRoleBinding>;
export type DefaultRole = Writable<Role>;
export type DefaultRoleBinding = Writable<RoleBinding>;

export const AUTO_UPDATE = 'rbac.authorization.kubernetes.io/autoupdate';
export const BOOTSTRAPPING = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const RBAC_GROUP = 'rbac.authorization.k8s.io';

export const READ = ['get', 'list', 'watch'];
export const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];
export const READ_WRITE = [...READ, ...WRITE];

const sorted = (xs: string[]) => [...new Set(xs)].sort();

/** A resource rule, its lists sorted as upstream's rule builder leaves them. */
export function rule(verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): Rule {
  return {
    verbs: sorted(verbs),
    apiGroups: sorted(apiGroups),
    resources: sorted(resources),
    ...(resourceNames ? { resourceNames: sorted(resourceNames) } : {}),
  };
}

export const urls = (verbs: string[], nonResourceURLs: string[]): Rule => ({
  verbs: sorted(verbs),
  nonResourceURLs: sorted(nonResourceURLs),
});

/** Events, in both groups, as every control-plane component writes them. */
export const eventsRule = () => rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']);

export function clusterRole(name: string, rules: Rule[], extra: Partial<DefaultClusterRole> = {}, labels = {}): DefaultClusterRole {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: { name, labels: { ...BOOTSTRAPPING, ...labels }, annotations: { [AUTO_UPDATE]: 'true' } },
    rules,
    ...extra,
  };
}

const group = (name: string): Subject => ({ apiGroup: RBAC_GROUP, kind: 'Group', name });
const user = (name: string): Subject => ({ apiGroup: RBAC_GROUP, kind: 'User', name });
export const serviceAccount = (namespace: string, name: string): Subject => ({ kind: 'ServiceAccount', namespace, name });

export function clusterRoleBinding(name: string, subjects: Subject[], role = name): DefaultClusterRoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...BOOTSTRAPPING }, annotations: { [AUTO_UPDATE]: 'true' } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role },
    subjects,
  };
}

const aggregated = (to: string) => ({
  aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [`${RBAC_GROUP}/aggregate-to-${to}`]: 'true' } }] },
});
const aggregateTo = (to: string) => ({ [`${RBAC_GROUP}/aggregate-to-${to}`]: 'true' });

/** What a node needs to run its pods (upstream's NodeRules), for the Node authorizer and the system:node role. */
export function nodeRules(): Rule[] {
  return [
    rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
    rule(READ, [''], ['services']),
    rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
    rule(['update', 'patch'], [''], ['nodes/status']),
    rule(['update', 'patch'], [''], ['nodes']),
    rule(['create', 'update', 'patch'], [''], ['events']),
    rule(READ, [''], ['pods']),
    rule(['create', 'delete'], [''], ['pods']),
    rule(['update', 'patch'], [''], ['pods/status']),
    rule(['create'], [''], ['pods/eviction']),
    rule(READ, [''], ['secrets', 'configmaps']),
    rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
    rule(['get'], [''], ['endpoints']),
    rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
    rule(['get'], ['storage.k8s.io'], ['volumeattachments']),
    rule(['create'], [''], ['serviceaccounts/token']),
    rule(['get', 'update', 'patch'], [''], ['persistentvolumeclaims/status']),
    rule(READ, ['storage.k8s.io'], ['csidrivers']),
    rule(['get', 'create', 'update', 'patch', 'delete'], ['storage.k8s.io'], ['csinodes']),
    rule(READ, ['node.k8s.io'], ['runtimeclasses']),
  ];
}

const VIEW_RULES = (): Rule[] => [
  rule(
    READ,
    [''],
    [
      'pods',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/status',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
      'configmaps',
    ],
  ),
  rule(
    READ,
    [''],
    [
      'limitranges',
      'resourcequotas',
      'bindings',
      'events',
      'pods/status',
      'resourcequotas/status',
      'namespaces/status',
      'replicationcontrollers/status',
      'pods/log',
    ],
  ),
  // Read access to namespaces at the namespace scope means reading *this* namespace.
  rule(READ, [''], ['namespaces']),
  rule(READ, ['discovery.k8s.io'], ['endpointslices']),
  rule(
    READ,
    ['apps'],
    [
      'controllerrevisions',
      'statefulsets',
      'statefulsets/status',
      'statefulsets/scale',
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/status',
      'deployments/scale',
      'replicasets',
      'replicasets/status',
      'replicasets/scale',
    ],
  ),
  rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
  rule(READ, ['batch'], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
  rule(
    READ,
    ['extensions'],
    [
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'ingresses',
      'ingresses/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'replicationcontrollers/scale',
      'networkpolicies',
    ],
  ),
  rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
  rule(READ, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
];

const EDIT_RULES = (): Rule[] => [
  // Read of the resources that can escalate (exec into pods, read secrets).
  rule(READ, [''], ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
  rule(['impersonate'], [''], ['serviceaccounts']),
  rule(WRITE, [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
  rule(['create'], [''], ['pods/eviction']),
  rule(
    WRITE,
    [''],
    [
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/proxy',
      'persistentvolumeclaims',
      'configmaps',
      'secrets',
      'events',
    ],
  ),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(
    WRITE,
    ['apps'],
    [
      'statefulsets',
      'statefulsets/scale',
      'daemonsets',
      'deployments',
      'deployments/scale',
      'deployments/rollback',
      'replicasets',
      'replicasets/scale',
    ],
  ),
  rule(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
  rule(WRITE, ['batch'], ['jobs', 'cronjobs']),
  rule(
    WRITE,
    ['extensions'],
    [
      'daemonsets',
      'deployments',
      'deployments/scale',
      'deployments/rollback',
      'ingresses',
      'replicasets',
      'replicasets/scale',
      'replicationcontrollers/scale',
      'networkpolicies',
    ],
  ),
  rule(WRITE, ['policy'], ['poddisruptionbudgets']),
  rule(WRITE, ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
  rule(READ_WRITE, ['coordination.k8s.io'], ['leases']),
];

const ADMIN_RULES = (): Rule[] => [
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  rule(READ_WRITE, [RBAC_GROUP], ['roles', 'rolebindings']),
];

/** The ClusterRoles of upstream's bootstrap policy that apply to what Skiff serves, and Skiff's agent role. */
export function defaultClusterRoles(): DefaultClusterRole[] {
  const leases = (holder: string) => [
    rule(['create'], ['coordination.k8s.io'], ['leases']),
    rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], [holder]),
  ];
  const reviews = () => [
    rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
  ];
  const csr = (name: string, verb: string, resources: string[], names?: string[]) =>
    clusterRole(`system:certificates.k8s.io:${name}`, [rule([verb], ['certificates.k8s.io'], resources, names)]);
  return [
    // A "root" role which can do absolutely anything.
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    // Just enough to tell whether the server is ready and to discover API versions.
    clusterRole('system:discovery', [
      urls(
        ['get'],
        ['/livez', '/readyz', '/healthz', '/version', '/version/', '/openapi', '/openapi/*', '/api', '/api/*', '/apis', '/apis/*'],
      ),
    ]),
    clusterRole('system:monitoring', [
      urls(['get'], ['/livez', '/readyz', '/healthz', '/metrics', '/metrics/slis', '/livez/*', '/readyz/*', '/healthz/*']),
    ]),
    // What a "normal" user needs to learn about themselves.
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    // Insensitive cluster information, for everyone (anonymous requests too).
    clusterRole('system:public-info-viewer', [urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/'])]),
    // admin, edit and view: filled by the aggregation controller from the roles labelled for them.
    clusterRole('admin', [], aggregated('admin')),
    clusterRole('edit', [], aggregated('edit'), aggregateTo('admin')),
    clusterRole('view', [], aggregated('view'), aggregateTo('edit')),
    clusterRole('system:aggregate-to-admin', ADMIN_RULES(), {}, aggregateTo('admin')),
    clusterRole('system:aggregate-to-edit', EDIT_RULES(), {}, aggregateTo('edit')),
    clusterRole('system:aggregate-to-view', VIEW_RULES(), {}, aggregateTo('view')),
    clusterRole('system:node', nodeRules()),
    clusterRole('system:node-proxier', [
      rule(['list', 'watch'], [''], ['services', 'endpoints']),
      rule(READ, [''], ['nodes']),
      eventsRule(),
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ]),
    clusterRole('system:kubelet-api-admin', [
      rule(READ, [''], ['nodes']),
      rule(['proxy'], [''], ['nodes']),
      rule(['*'], [''], ['nodes/proxy', 'nodes/stats', 'nodes/log', 'nodes/metrics']),
    ]),
    clusterRole('system:node-bootstrapper', [
      rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    ]),
    clusterRole('system:auth-delegator', reviews()),
    clusterRole('system:kube-aggregator', [rule(READ, [''], ['services', 'endpoints'])]),
    clusterRole('system:kube-controller-manager', [
      eventsRule(),
      ...leases('kube-controller-manager'),
      rule(['create'], [''], ['secrets', 'serviceaccounts']),
      rule(['delete'], [''], ['secrets']),
      rule(['get'], [''], ['namespaces', 'secrets', 'serviceaccounts', 'configmaps']),
      rule(['update'], [''], ['secrets', 'serviceaccounts']),
      ...reviews(),
      // Every shared informer.
      rule(['list', 'watch'], ['*'], ['*']),
      rule(['create'], [''], ['serviceaccounts/token']),
    ]),
    clusterRole('system:kube-dns', [rule(['list', 'watch'], [''], ['endpoints', 'services'])]),
    clusterRole('system:kube-scheduler', [
      eventsRule(),
      ...leases('kube-scheduler'),
      rule(READ, [''], ['nodes']),
      rule(['get', 'list', 'watch', 'delete'], [''], ['pods']),
      rule(['create'], [''], ['pods/binding', 'bindings']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(READ, [''], ['replicationcontrollers', 'services']),
      rule(READ, ['apps', 'extensions'], ['replicasets']),
      rule(READ, ['apps'], ['statefulsets']),
      rule(READ, ['policy'], ['poddisruptionbudgets']),
      rule(READ, [''], ['persistentvolumeclaims', 'persistentvolumes']),
      ...reviews(),
      rule(READ, ['storage.k8s.io'], ['csinodes']),
      rule(READ, [''], ['namespaces']),
      rule(READ, ['storage.k8s.io'], ['csidrivers']),
      rule(READ, ['storage.k8s.io'], ['csistoragecapacities']),
    ]),
    clusterRole('system:volume-scheduler', [
      rule(['get', 'list', 'watch', 'patch', 'update'], [''], ['persistentvolumes']),
      rule(READ, ['storage.k8s.io'], ['storageclasses']),
      rule(['get', 'list', 'watch', 'patch', 'update'], [''], ['persistentvolumeclaims']),
    ]),
    csr('certificatesigningrequests:nodeclient', 'create', ['certificatesigningrequests/nodeclient']),
    csr('certificatesigningrequests:selfnodeclient', 'create', ['certificatesigningrequests/selfnodeclient']),
    csr('kube-apiserver-client-approver', 'approve', ['signers'], ['kubernetes.io/kube-apiserver-client']),
    csr('kube-apiserver-client-kubelet-approver', 'approve', ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet']),
    csr('kubelet-serving-approver', 'approve', ['signers'], ['kubernetes.io/kubelet-serving']),
    csr('legacy-unknown-approver', 'approve', ['signers'], ['kubernetes.io/legacy-unknown']),
  ];
}

/**
 * Default ClusterRoles and ClusterRoleBindings (same names) once made and now to go: deleted at start.
 * system:skiff:interim-node gave every node system:node's rules until the Node authorizer was in the
 * chain; that authorizer now decides for nodes, scoped to each node's own objects.
 */
export const RETIRED: string[] = ['system:skiff:interim-node'];

export function defaultClusterRoleBindings(): DefaultClusterRoleBinding[] {
  return [
    clusterRoleBinding('cluster-admin', [group('system:masters')]),
    clusterRoleBinding('system:monitoring', [group('system:monitoring')]),
    clusterRoleBinding('system:discovery', [group('system:authenticated')]),
    clusterRoleBinding('system:basic-user', [group('system:authenticated')]),
    clusterRoleBinding('system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    clusterRoleBinding('system:node-proxier', [user('system:kube-proxy')]),
    clusterRoleBinding('system:kube-controller-manager', [user('system:kube-controller-manager')]),
    clusterRoleBinding('system:kube-dns', [serviceAccount('kube-system', 'kube-dns')]),
    clusterRoleBinding('system:kube-scheduler', [user('system:kube-scheduler')]),
    clusterRoleBinding('system:volume-scheduler', [user('system:kube-scheduler')], 'system:volume-scheduler'),
    // Kept without subjects, as upstream does since the Node authorizer: nodes get system:node's rules from it.
    clusterRoleBinding('system:node', []),
  ];
}
