// Defaults of the workload kinds (apps/v1, batch/v1), each also defaulting its pod template.
import type { DaemonSetSpec, DeploymentSpec, ReplicaSetSpec, StatefulSetSpec } from 'kubernetes-types/apps/v1.js';
import type { CronJobSpec, JobSpec } from 'kubernetes-types/batch/v1.js';
import type { PodTemplateSpec, ReplicationControllerSpec } from 'kubernetes-types/core/v1.js';
import type { KObject, Writable } from '../../k8s/object.js';
import { defaultPodSpec } from './pod-spec.js';

/**
 * The object's spec, created empty when missing. Defaults run before validation, so fields the
 * kind's type calls required may still be missing, and the code below never counts on one.
 */
function specOf<S extends object>(obj: KObject): Writable<S> {
  return ((obj as { spec?: Writable<S> }).spec ??= {} as Writable<S>);
}

function template(spec: { template?: Writable<PodTemplateSpec> } | undefined): void {
  defaultPodSpec(spec?.template?.spec);
}

export function defaultDeployment(obj: KObject): void {
  const spec = specOf<DeploymentSpec>(obj);
  spec.replicas ??= 1;
  spec.strategy ??= { type: 'RollingUpdate' };
  spec.strategy.type ??= 'RollingUpdate';
  if (spec.strategy.type === 'RollingUpdate') {
    spec.strategy.rollingUpdate ??= {};
    spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
    spec.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  template(spec);
}

export function defaultReplicaSet(obj: KObject): void {
  const spec = specOf<ReplicaSetSpec>(obj);
  spec.replicas ??= 1;
  template(spec);
}

/**
 * ReplicationControllers select with a plain label map: without one (and without labels of their
 * own) they take the template's labels, as upstream defaults them.
 */
export function defaultReplicationController(obj: KObject): void {
  const spec = specOf<ReplicationControllerSpec>(obj);
  const labels = spec.template?.metadata?.labels as Record<string, string> | undefined;
  if (labels && Object.keys(labels).length > 0) {
    if (!spec.selector || Object.keys(spec.selector).length === 0) spec.selector = { ...labels };
    obj.metadata ??= {};
    if (!obj.metadata.labels || Object.keys(obj.metadata.labels).length === 0) obj.metadata.labels = { ...labels };
  }
  spec.replicas ??= 1;
  template(spec);
}

export function defaultStatefulSet(obj: KObject): void {
  const spec = specOf<StatefulSetSpec>(obj);
  spec.replicas ??= 1;
  spec.podManagementPolicy ??= 'OrderedReady';
  spec.updateStrategy ??= { type: 'RollingUpdate' };
  if (spec.updateStrategy.type === 'RollingUpdate') spec.updateStrategy.rollingUpdate ??= { partition: 0 };
  spec.revisionHistoryLimit ??= 10;
  spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
  for (const claim of spec.volumeClaimTemplates ?? []) {
    claim.spec ??= {};
    claim.spec.volumeMode ??= 'Filesystem';
    claim.status ??= { phase: 'Pending' };
  }
  template(spec);
}

export function defaultDaemonSet(obj: KObject): void {
  const spec = specOf<DaemonSetSpec>(obj);
  spec.updateStrategy ??= { type: 'RollingUpdate' };
  if (spec.updateStrategy.type === 'RollingUpdate')
    spec.updateStrategy.rollingUpdate = { maxUnavailable: 1, maxSurge: 0, ...spec.updateStrategy.rollingUpdate };
  spec.revisionHistoryLimit ??= 10;
  template(spec);
}

export function defaultJobSpec(spec: Writable<JobSpec>): void {
  spec.parallelism ??= 1;
  if (spec.completions === undefined && spec.parallelism !== undefined && spec.completionMode !== 'Indexed')
    spec.completions = spec.parallelism === 1 ? 1 : undefined;
  if (spec.completions === undefined) delete spec.completions;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.manualSelector ??= undefined;
  if (spec.manualSelector === undefined) delete spec.manualSelector;
  // A job with a podFailurePolicy replaces a pod only once it has failed (upstream's default).
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  template(spec);
}

/** Jobs select their pods by the job's uid unless the user chose a selector (manualSelector). */
export function defaultJob(obj: KObject): void {
  const spec = specOf<JobSpec>(obj);
  defaultJobSpec(spec);
  const uid = obj.metadata?.uid;
  const name = obj.metadata?.name;
  if (!spec.manualSelector && !spec.selector && uid && name) {
    spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    spec.template ??= {};
    spec.template.metadata ??= {};
    spec.template.metadata.labels = {
      ...spec.template.metadata.labels,
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': name,
      'controller-uid': uid,
      'job-name': name,
    };
  }
}

export function defaultCronJob(obj: KObject): void {
  const spec = specOf<CronJobSpec>(obj);
  spec.concurrencyPolicy ??= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  spec.jobTemplate ??= {};
  spec.jobTemplate.spec ??= {} as Writable<JobSpec>;
  defaultJobSpec(spec.jobTemplate.spec);
}
