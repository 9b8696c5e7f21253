// Each controller's own role, as upstream's controller_policy.go: `system:controller:<name>`, bound to
// the service account kube-system/<name> that the controller acts as (kube-controller-manager's
// --use-service-account-credentials). Only the controllers Skiff runs; where Skiff's controller
// writes differently from upstream's (a patch where upstream updates) the rule says so.
import { clusterRole, clusterRoleBinding, eventsRule, READ, rule, serviceAccount, type DefaultClusterRole } from './policy.js';
import type { DefaultClusterRoleBinding, DefaultRole, DefaultRoleBinding } from './policy.js';
import type { Rule } from './rules.js';

const CORE = '';
const APPS = ['apps', 'extensions'];

const CONTROLLER_RULES: Record<string, () => Rule[]> = {
  // CSR approving and signing, as upstream runs both under this identity.
  'certificate-controller': () => [
    rule(['get', 'list', 'watch', 'delete'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    rule(['update'], ['certificates.k8s.io'], ['certificatesigningrequests/status', 'certificatesigningrequests/approval']),
    rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet']),
    rule(
      ['sign'],
      ['certificates.k8s.io'],
      ['signers'],
      [
        'kubernetes.io/kube-apiserver-client',
        'kubernetes.io/kube-apiserver-client-kubelet',
        'kubernetes.io/kubelet-serving',
        'kubernetes.io/legacy-unknown',
      ],
    ),
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    eventsRule(),
  ],
  'clusterrole-aggregation-controller': () => [
    // Aggregated roles may hold rules the controller itself does not: it needs escalate.
    rule(['escalate', 'get', 'list', 'patch', 'update', 'watch'], ['rbac.authorization.k8s.io'], ['clusterroles']),
  ],
  'cronjob-controller': () => [
    rule(['get', 'list', 'watch', 'update'], ['batch'], ['cronjobs']),
    rule(['get', 'list', 'watch', 'create', 'update', 'delete', 'patch'], ['batch'], ['jobs']),
    rule(['update'], ['batch'], ['cronjobs/status']),
    rule(['update'], ['batch'], ['cronjobs/finalizers']),
    rule(['list', 'watch', 'delete'], [CORE], ['pods']),
    eventsRule(),
  ],
  'daemon-set-controller': () => [
    rule(READ, APPS, ['daemonsets']),
    rule(['update'], APPS, ['daemonsets/status']),
    rule(['update'], APPS, ['daemonsets/finalizers']),
    rule(['list', 'watch'], [CORE], ['nodes']),
    rule(['list', 'watch', 'create', 'delete', 'patch'], [CORE], ['pods']),
    rule(['create'], [CORE], ['pods/binding']),
    rule(['get', 'list', 'watch', 'create', 'delete', 'update', 'patch'], ['apps'], ['controllerrevisions']),
    eventsRule(),
  ],
  'deployment-controller': () => [
    // Skiff's controller patches Deployments and their status where upstream's updates them.
    rule(['get', 'list', 'watch', 'update', 'patch'], APPS, ['deployments']),
    rule(['update', 'patch'], APPS, ['deployments/status']),
    rule(['update'], APPS, ['deployments/finalizers']),
    rule(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], APPS, ['replicasets']),
    rule(['get', 'list', 'watch', 'update'], [CORE], ['pods']),
    eventsRule(),
  ],
  'endpoint-controller': () => [
    rule(READ, [CORE], ['services', 'pods']),
    rule(['get', 'list', 'create', 'update', 'delete'], [CORE], ['endpoints']),
    rule(['create'], [CORE], ['endpoints/restricted']),
    eventsRule(),
  ],
  'endpointslice-controller': () => [
    rule(READ, [CORE], ['services', 'pods', 'nodes']),
    rule(['update'], [CORE], ['services/finalizers']),
    rule(['get', 'list', 'create', 'update', 'delete'], ['discovery.k8s.io'], ['endpointslices']),
    eventsRule(),
  ],
  'generic-garbage-collector': () => [rule(['get', 'list', 'watch', 'patch', 'update', 'delete'], ['*'], ['*']), eventsRule()],
  'horizontal-pod-autoscaler': () => [
    rule(['get', 'list', 'watch'], ['autoscaling'], ['horizontalpodautoscalers']),
    rule(['update'], ['autoscaling'], ['horizontalpodautoscalers/status']),
    rule(['get', 'update'], ['*'], ['*/scale']),
    rule(['list'], [CORE], ['pods']),
    rule(['list'], ['metrics.k8s.io'], ['pods']),
    eventsRule(),
  ],
  'job-controller': () => [
    rule(['get', 'list', 'watch', 'update', 'patch'], ['batch'], ['jobs']),
    rule(['update'], ['batch'], ['jobs/status']),
    rule(['update'], ['batch'], ['jobs/finalizers']),
    rule(['list', 'watch', 'create', 'delete', 'patch'], [CORE], ['pods']),
    eventsRule(),
  ],
  'namespace-controller': () => [
    rule(['get', 'list', 'watch', 'delete'], [CORE], ['namespaces']),
    rule(['update'], [CORE], ['namespaces/finalize', 'namespaces/status']),
    rule(['get', 'list', 'delete', 'deletecollection'], ['*'], ['*']),
  ],
  // Node lifecycle and node IPAM, as upstream runs both under this identity.
  'node-controller': () => [
    rule(['get', 'list', 'update', 'delete', 'patch'], [CORE], ['nodes']),
    rule(['patch', 'update'], [CORE], ['nodes/status']),
    rule(['patch', 'update'], [CORE], ['pods/status']),
    rule(['list', 'delete'], [CORE], ['pods']),
    eventsRule(),
  ],
  // Upstream's rules less those of the volume plugins Skiff has none of: no in-tree provisioner
  // (persistentvolumes create), no recycler pods (pods create and delete, events watch), no
  // glusterfs (endpoints, services, secrets) or openstack (nodes).
  'persistent-volume-binder': () => [
    rule(['get', 'list', 'watch', 'update', 'delete'], [CORE], ['persistentvolumes']),
    rule(['update'], [CORE], ['persistentvolumes/status']),
    rule(['get', 'list', 'watch', 'update'], [CORE], ['persistentvolumeclaims']),
    rule(['update'], [CORE], ['persistentvolumeclaims/status']),
    rule(['list', 'watch', 'get'], [CORE], ['pods']),
    rule(['get', 'list', 'watch'], ['storage.k8s.io'], ['storageclasses']),
    eventsRule(),
  ],
  'pod-garbage-collector': () => [
    rule(['list', 'watch', 'delete'], [CORE], ['pods']),
    rule(['get', 'list', 'watch'], [CORE], ['nodes']),
    rule(['patch'], [CORE], ['pods/status']),
  ],
  'replicaset-controller': () => [
    rule(['get', 'list', 'watch', 'update'], APPS, ['replicasets']),
    rule(['update'], APPS, ['replicasets/status']),
    rule(['update'], APPS, ['replicasets/finalizers']),
    rule(['list', 'watch', 'patch', 'create', 'delete'], [CORE], ['pods']),
    eventsRule(),
  ],
  'replication-controller': () => [
    rule(['get', 'list', 'watch', 'update'], [CORE], ['replicationcontrollers']),
    rule(['update'], [CORE], ['replicationcontrollers/status']),
    rule(['update'], [CORE], ['replicationcontrollers/finalizers']),
    rule(['list', 'watch', 'patch', 'create', 'delete'], [CORE], ['pods']),
    eventsRule(),
  ],
  'root-ca-cert-publisher': () => [rule(['create', 'update'], [CORE], ['configmaps']), eventsRule()],
  'service-account-controller': () => [rule(['create'], [CORE], ['serviceaccounts']), eventsRule()],
  'statefulset-controller': () => [
    rule(['list', 'watch'], [CORE], ['pods']),
    rule(READ, ['apps'], ['statefulsets']),
    rule(['update'], ['apps'], ['statefulsets/status']),
    rule(['update'], ['apps'], ['statefulsets/finalizers']),
    rule(['get', 'create', 'delete', 'update', 'patch'], [CORE], ['pods']),
    rule(['get', 'list', 'watch', 'create', 'delete', 'update', 'patch'], ['apps'], ['controllerrevisions']),
    rule(['get', 'create', 'list', 'watch'], [CORE], ['persistentvolumeclaims']),
    rule(['update', 'delete'], [CORE], ['persistentvolumeclaims']),
    rule(['update'], [CORE], ['pods/finalizers']),
    eventsRule(),
  ],
  'ttl-after-finished-controller': () => [rule(['get', 'list', 'watch', 'delete'], ['batch'], ['jobs']), eventsRule()],
  // Skiff's (K3s's ServiceLB): LoadBalancer Services get the addresses of the nodes that serve them.
  // Local-path volumes: made for claims, grown, and removed (the directory by its node, asked on its Node).
  'local-path-provisioner': () => [
    rule(['get', 'list', 'watch', 'create', 'update', 'delete'], [CORE], ['persistentvolumes']),
    rule(['get', 'list', 'watch'], [CORE], ['persistentvolumeclaims', 'pods']),
    rule(['update'], [CORE], ['persistentvolumeclaims/status']),
    rule(['get', 'list', 'watch', 'patch'], [CORE], ['nodes']),
    rule(['get', 'list', 'watch'], ['storage.k8s.io'], ['storageclasses']),
    eventsRule(),
  ],
  'ingress-status-controller': () => [
    rule(READ, ['networking.k8s.io'], ['ingresses', 'ingressclasses']),
    rule(['patch', 'update'], ['networking.k8s.io'], ['ingresses/status']),
    rule(['list', 'watch'], [CORE], ['nodes']),
  ],
  'service-lb-controller': () => [
    rule(READ, [CORE], ['services']),
    rule(['patch', 'update'], [CORE], ['services/status']),
    rule(['list', 'watch'], [CORE], ['nodes']),
    rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    eventsRule(),
  ],
};

/** The controllers with a role of their own; each acts as the service account kube-system/<name>. */
export const CONTROLLER_NAMES = Object.keys(CONTROLLER_RULES);

export function controllerRoles(): DefaultClusterRole[] {
  return CONTROLLER_NAMES.map((name) => clusterRole(`system:controller:${name}`, CONTROLLER_RULES[name]!()));
}

/** Controllers whose rights stay in one namespace (upstream's namespace_policy.go): a Role and RoleBinding there. */
const NAMESPACED_RULES: Record<string, { namespace: string; rules: () => Rule[] }> = {
  // Deletes expired bootstrap tokens.
  'token-cleaner': { namespace: 'kube-system', rules: () => [rule(['delete', 'get', 'list', 'watch'], [CORE], ['secrets']), eventsRule()] },
};

export const NAMESPACED_CONTROLLER_NAMES = Object.keys(NAMESPACED_RULES);

export function controllerNamespaceRoles(): DefaultRole[] {
  return NAMESPACED_CONTROLLER_NAMES.map((name) => {
    const { namespace, rules } = NAMESPACED_RULES[name]!;
    const role = clusterRole(`system:controller:${name}`, rules());
    return { ...role, kind: 'Role', metadata: { ...role.metadata, namespace } };
  });
}

export function controllerNamespaceRoleBindings(): DefaultRoleBinding[] {
  return NAMESPACED_CONTROLLER_NAMES.map((name) => {
    const { namespace } = NAMESPACED_RULES[name]!;
    const binding = clusterRoleBinding(`system:controller:${name}`, [serviceAccount(namespace, name)], `system:controller:${name}`);
    return { ...binding, kind: 'RoleBinding', metadata: { ...binding.metadata, namespace }, roleRef: { ...binding.roleRef, kind: 'Role' } };
  });
}

export function controllerRoleBindings(): DefaultClusterRoleBinding[] {
  return CONTROLLER_NAMES.map((name) =>
    clusterRoleBinding(`system:controller:${name}`, [serviceAccount('kube-system', name)], `system:controller:${name}`),
  );
}
