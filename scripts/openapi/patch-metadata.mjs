// What kubernetes-types cannot tell: how lists merge in strategic merge patch and server-side apply
// (Kubernetes' +patchMergeKey/+patchStrategy/+listType/+listMapKey markers), for the built-in fields
// that clients merge. Keyed by `<definition name>.<property>`.
const map = (key, keys = [key], strategy = 'merge') => ({
  'x-kubernetes-patch-merge-key': key,
  'x-kubernetes-patch-strategy': strategy,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': keys,
});
const set = { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' };
const atomic = { 'x-kubernetes-list-type': 'atomic' };
const conditions = map('type');

const core = 'io.k8s.api.core.v1';
const container = {
  ports: map('containerPort', ['containerPort', 'protocol']),
  env: map('name'),
  volumeMounts: map('mountPath'),
  volumeDevices: map('devicePath'),
  resizePolicy: atomic,
  command: atomic,
  args: atomic,
  envFrom: atomic,
};

export const patchMetadata = {
  ...Object.fromEntries(
    ['Container', 'EphemeralContainer'].flatMap((kind) => Object.entries(container).map(([k, v]) => [`${core}.${kind}.${k}`, v])),
  ),
  [`${core}.PodSpec.containers`]: map('name'),
  [`${core}.PodSpec.initContainers`]: map('name'),
  [`${core}.PodSpec.ephemeralContainers`]: map('name'),
  [`${core}.PodSpec.volumes`]: map('name', ['name'], 'merge,retainKeys'),
  [`${core}.PodSpec.imagePullSecrets`]: map('name'),
  [`${core}.PodSpec.hostAliases`]: map('ip'),
  [`${core}.PodSpec.tolerations`]: atomic,
  [`${core}.PodSpec.topologySpreadConstraints`]: map('topologyKey', ['topologyKey', 'whenUnsatisfiable']),
  [`${core}.PodSpec.schedulingGates`]: map('name'),
  [`${core}.PodSpec.resourceClaims`]: map('name', ['name'], 'merge,retainKeys'),
  [`${core}.PodSpec.readinessGates`]: atomic,
  [`${core}.PodStatus.conditions`]: conditions,
  [`${core}.PodStatus.podIPs`]: map('ip'),
  [`${core}.PodStatus.hostIPs`]: map('ip'),
  [`${core}.PodStatus.containerStatuses`]: atomic,
  [`${core}.PodStatus.initContainerStatuses`]: atomic,
  [`${core}.NodeSpec.podCIDRs`]: set,
  [`${core}.NodeSpec.taints`]: atomic,
  [`${core}.NodeStatus.conditions`]: conditions,
  [`${core}.NodeStatus.addresses`]: map('type'),
  [`${core}.NodeStatus.images`]: atomic,
  [`${core}.ServiceSpec.ports`]: map('port', ['port', 'protocol']),
  [`${core}.ServiceSpec.externalIPs`]: atomic,
  [`${core}.ServiceSpec.clusterIPs`]: atomic,
  [`${core}.ServiceStatus.conditions`]: conditions,
  [`${core}.ServiceAccount.secrets`]: map('name'),
  [`${core}.NamespaceStatus.conditions`]: conditions,
  [`${core}.PersistentVolumeClaimStatus.conditions`]: conditions,
  [`${core}.EndpointSubset.addresses`]: atomic,
  [`${core}.EndpointSubset.ports`]: atomic,
  [`${core}.Endpoints.subsets`]: atomic,
  [`${core}.NodeSelectorTerm.matchExpressions`]: atomic,
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.finalizers': set,
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.ownerReferences': map('uid'),
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector.matchExpressions': atomic,
  'io.k8s.api.apps.v1.DeploymentSpec.strategy': { 'x-kubernetes-patch-strategy': 'retainKeys' },
  'io.k8s.api.apps.v1.DeploymentStatus.conditions': conditions,
  'io.k8s.api.apps.v1.ReplicaSetStatus.conditions': conditions,
  'io.k8s.api.apps.v1.StatefulSetStatus.conditions': conditions,
  'io.k8s.api.apps.v1.DaemonSetStatus.conditions': conditions,
  'io.k8s.api.apps.v1.StatefulSetSpec.volumeClaimTemplates': atomic,
  'io.k8s.api.batch.v1.JobStatus.conditions': {
    'x-kubernetes-patch-merge-key': 'type',
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-list-type': 'atomic',
  },
  'io.k8s.api.batch.v1.CronJobStatus.active': atomic,
  'io.k8s.api.policy.v1.PodDisruptionBudgetStatus.conditions': conditions,
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus.conditions': conditions,
  'io.k8s.api.networking.v1.IngressSpec.rules': atomic,
  'io.k8s.api.networking.v1.IngressSpec.tls': atomic,
  'io.k8s.api.rbac.v1.ClusterRole.rules': atomic,
  'io.k8s.api.rbac.v1.Role.rules': atomic,
  'io.k8s.api.rbac.v1.RoleBinding.subjects': atomic,
  'io.k8s.api.rbac.v1.ClusterRoleBinding.subjects': atomic,
  // List-map keys with a default in upstream's schema: server-side apply fills them in before it
  // matches items, so `ports: [{port: 80}]` is the live item that says `protocol: TCP`.
  [`${core}.ContainerPort.protocol`]: { default: 'TCP' },
  [`${core}.ServicePort.protocol`]: { default: 'TCP' },
};

/** Definitions that are replaced whole, never merged field by field (+structType=atomic). */
export const atomicStructs = [
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
  `${core}.ObjectReference`,
  `${core}.LocalObjectReference`,
  `${core}.SecretKeySelector`,
  `${core}.ConfigMapKeySelector`,
  `${core}.ObjectFieldSelector`,
  `${core}.ResourceFieldSelector`,
  `${core}.NodeSelector`,
  'io.k8s.api.rbac.v1.RoleRef',
];
