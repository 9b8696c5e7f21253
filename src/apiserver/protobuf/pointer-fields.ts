// Go marshals every non-pointer scalar, even a zero one, while its JSON drops zero values of
// optional fields. So after decoding, zero optional scalars are dropped, except these fields, which
// are pointers in Go: for them a present zero (replicas: 0, suspend: false) is what the client said.
const POINTERS: Record<string, string[]> = {
  'api.apps.v1.DeploymentSpec': ['replicas', 'revisionHistoryLimit', 'progressDeadlineSeconds'],
  'api.apps.v1.ReplicaSetSpec': ['replicas'],
  'api.apps.v1.StatefulSetSpec': ['replicas', 'revisionHistoryLimit'],
  'api.apps.v1.RollingUpdateStatefulSetStrategy': ['partition'],
  'api.apps.v1.DaemonSetSpec': ['revisionHistoryLimit'],
  'api.batch.v1.JobSpec': [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'backoffLimit',
    'backoffLimitPerIndex',
    'maxFailedIndexes',
    'ttlSecondsAfterFinished',
    'suspend',
    'manualSelector',
  ],
  'api.batch.v1.CronJobSpec': ['startingDeadlineSeconds', 'suspend', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'],
  'api.core.v1.PodSpec': [
    'terminationGracePeriodSeconds',
    'activeDeadlineSeconds',
    'automountServiceAccountToken',
    'priority',
    'enableServiceLinks',
    'shareProcessNamespace',
    'hostUsers',
    'setHostnameAsFQDN',
  ],
  'api.core.v1.SecurityContext': [
    'privileged',
    'runAsUser',
    'runAsGroup',
    'runAsNonRoot',
    'readOnlyRootFilesystem',
    'allowPrivilegeEscalation',
  ],
  'api.core.v1.PodSecurityContext': ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup'],
  'api.core.v1.ConfigMapVolumeSource': ['defaultMode', 'optional'],
  'api.core.v1.SecretVolumeSource': ['defaultMode', 'optional'],
  'api.core.v1.ProjectedVolumeSource': ['defaultMode'],
  'api.core.v1.DownwardAPIVolumeSource': ['defaultMode'],
  'api.core.v1.KeyToPath': ['mode'],
  'api.core.v1.ConfigMapKeySelector': ['optional'],
  'api.core.v1.SecretKeySelector': ['optional'],
  'api.core.v1.ConfigMapEnvSource': ['optional'],
  'api.core.v1.SecretEnvSource': ['optional'],
  'api.core.v1.ConfigMap': ['immutable'],
  'api.core.v1.Secret': ['immutable'],
  'api.core.v1.ServiceAccount': ['automountServiceAccountToken'],
  'api.core.v1.ServiceSpec': ['allocateLoadBalancerNodePorts'],
  'api.core.v1.ServiceAccountTokenProjection': ['expirationSeconds'],
  'api.authentication.v1.TokenRequestSpec': ['expirationSeconds'],
  'api.policy.v1.PodDisruptionBudgetSpec': [],
  'api.scheduling.v1.PriorityClass': ['preemptionPolicy'],
  'apimachinery.pkg.apis.meta.v1.DeleteOptions': ['gracePeriodSeconds', 'orphanDependents'],
};

const set = new Set(Object.entries(POINTERS).flatMap(([msg, fields]) => fields.map((f) => `k8s.io.${msg}.${f}`)));

export const isPointerField = (message: string, field: string) => set.has(`${message}.${field}`);
