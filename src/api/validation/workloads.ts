// Workload controllers' kinds: selectors that match their templates, replica counts, restart
// policies, cron schedules, and the fields that may not change.
import { isDeepStrictEqual } from 'node:util';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { FieldError } from '../../k8s/errors.js';
import { fromLabelSelector, matches } from '../../k8s/selectors.js';
import { immutable } from './core.js';
import { forbidden, invalidValue, labelValue, notSupported, qualifiedName, required } from './names.js';
import { validatePodSpec } from './pod-spec.js';
import { parseCron } from './cron.js';

interface WorkloadSpec {
  replicas?: number;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
}

function selectorMatchesTemplate(spec: WorkloadSpec, at: string): FieldError[] {
  const sel = fromLabelSelector(spec.selector);
  if (!sel || sel.length === 0) return [invalidValue(`${at}.selector`, spec.selector ?? {}, 'empty selector is invalid for deployment')];
  const labels = spec.template?.metadata?.labels;
  return matches(sel, labels)
    ? []
    : [invalidValue(`${at}.template.metadata.labels`, labels ?? {}, '`selector` does not match template `labels`')];
}

function nonNegative(field: string, v: number | undefined): FieldError[] {
  return v !== undefined && (!Number.isInteger(v) || v < 0) ? [invalidValue(field, v, 'must be greater than or equal to 0')] : [];
}

/** Deployments, ReplicaSets, StatefulSets and DaemonSets. */
/**
 * The template's pod spec as the pods will have it: a StatefulSet's volumeClaimTemplates become
 * volumes of its pods (the controller adds them), so mounts may name them.
 */
function podSpecOf(spec: WorkloadSpec & { volumeClaimTemplates?: { metadata?: { name?: string } }[] }) {
  const podSpec = spec.template?.spec;
  const claims = (spec.volumeClaimTemplates ?? []).map((c) => c.metadata?.name).filter((n): n is string => !!n);
  if (!podSpec || !claims.length) return podSpec;
  const volumes = (podSpec.volumes ?? []).filter((v) => !claims.includes(v.name));
  return { ...podSpec, volumes: [...volumes, ...claims.map((name) => ({ name, persistentVolumeClaim: { claimName: name } }))] };
}

export function validateWorkload(kind: string) {
  return (obj: { spec?: WorkloadSpec & { serviceName?: string } }, old?: { spec?: WorkloadSpec }): FieldError[] => {
    const spec = obj.spec;
    if (!spec) return [required('spec')];
    const errors: FieldError[] = [];
    if (!spec.selector) errors.push(required('spec.selector'));
    else errors.push(...selectorMatchesTemplate(spec, 'spec'));
    errors.push(...nonNegative('spec.replicas', spec.replicas));
    errors.push(...validatePodSpec(podSpecOf(spec), 'spec.template.spec', ['Always']));
    if (old?.spec?.selector && !isDeepStrictEqual(old.spec.selector, spec.selector)) errors.push(immutable('spec.selector', spec.selector));
    if (kind === 'StatefulSet' && old && spec.serviceName !== (old.spec as { serviceName?: string } | undefined)?.serviceName) {
      errors.push({
        field: 'spec',
        type: 'FieldValueForbidden',
        detail:
          "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', " +
          "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      });
    }
    return errors;
  };
}

interface RcSpec {
  replicas?: number;
  minReadySeconds?: number;
  selector?: Record<string, string>;
  template?: PodTemplateSpec;
}

/** ReplicationControllers: a plain-map selector (mutable, unlike a ReplicaSet's) that the template's labels must carry. */
export function validateReplicationController(rc: { spec?: RcSpec }): FieldError[] {
  const spec = rc.spec;
  if (!spec) return [required('spec')];
  const errors: FieldError[] = [];
  const selector = spec.selector ?? {};
  if (Object.keys(selector).length === 0) errors.push(required('spec.selector'));
  for (const [k, v] of Object.entries(selector)) {
    errors.push(...qualifiedName(k).map((why) => invalidValue('spec.selector', k, why)));
    errors.push(...labelValue(String(v)).map((why) => invalidValue('spec.selector', v, why)));
  }
  errors.push(...nonNegative('spec.replicas', spec.replicas), ...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  if (!spec.template) return [...errors, required('spec.template')];
  const labels = spec.template.metadata?.labels ?? {};
  if (Object.keys(selector).length > 0 && !matches(fromLabelSelector({ matchLabels: selector })!, labels)) {
    errors.push(invalidValue('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
  }
  const podSpec = spec.template.spec;
  if (podSpec?.activeDeadlineSeconds !== undefined)
    errors.push(forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicationController is not Supported'));
  // Only Always: a pod that stops for good would leave the controller replacing it forever.
  errors.push(...validatePodSpec(podSpec, 'spec.template.spec', ['Always']));
  return errors;
}

interface JobSpec extends WorkloadSpec {
  parallelism?: number;
  completions?: number;
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
  completionMode?: string;
  manualSelector?: boolean;
}

export function validateJobSpec(spec: JobSpec | undefined, at: string): FieldError[] {
  if (!spec) return [required(at)];
  const errors: FieldError[] = [];
  for (const f of ['parallelism', 'completions', 'backoffLimit'] as const) errors.push(...nonNegative(`${at}.${f}`, spec[f]));
  if (spec.completionMode && !['NonIndexed', 'Indexed'].includes(spec.completionMode))
    errors.push(notSupported(`${at}.completionMode`, spec.completionMode, ['NonIndexed', 'Indexed']));
  if (spec.completionMode === 'Indexed' && spec.completions === undefined)
    errors.push(required(`${at}.completions`, 'when completion mode is Indexed'));
  const policy = spec.template?.spec?.restartPolicy;
  if (policy === 'Always' || policy === undefined)
    errors.push(notSupported(`${at}.template.spec.restartPolicy`, policy ?? '', ['OnFailure', 'Never']));
  errors.push(
    ...validatePodSpec(spec.template?.spec, `${at}.template.spec`, ['OnFailure', 'Never']).filter(
      (e) => !e.field.endsWith('restartPolicy'),
    ),
  );
  return errors;
}

export function validateJob(job: { spec?: JobSpec }, old?: { spec?: JobSpec }): FieldError[] {
  const errors = validateJobSpec(job.spec, 'spec');
  if (job.spec?.selector) errors.push(...selectorMatchesTemplate(job.spec, 'spec'));
  if (old?.spec && !isDeepStrictEqual(old.spec.selector, job.spec?.selector)) errors.push(immutable('spec.selector', job.spec?.selector));
  if (old?.spec && !isDeepStrictEqual(old.spec.template, job.spec?.template) && !(old.spec as { suspend?: boolean }).suspend) {
    errors.push(immutable('spec.template', job.spec?.template));
  }
  return errors;
}

export function validateCronJob(cj: {
  spec?: { schedule?: string; timeZone?: string; concurrencyPolicy?: string; jobTemplate?: { spec?: JobSpec } };
}): FieldError[] {
  const spec = cj.spec;
  if (!spec) return [required('spec')];
  const errors: FieldError[] = [];
  if (!spec.schedule) errors.push(required('spec.schedule'));
  else {
    const problem = parseCron(spec.schedule).error;
    if (problem) errors.push(invalidValue('spec.schedule', spec.schedule, problem));
    if (/TZ=|CRON_TZ=/.test(spec.schedule))
      errors.push(invalidValue('spec.schedule', spec.schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
  }
  if (spec.timeZone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: spec.timeZone });
    } catch {
      errors.push(invalidValue('spec.timeZone', spec.timeZone, `unknown time zone ${spec.timeZone}`));
    }
  }
  if (spec.concurrencyPolicy && !['Allow', 'Forbid', 'Replace'].includes(spec.concurrencyPolicy))
    errors.push(notSupported('spec.concurrencyPolicy', spec.concurrencyPolicy, ['Allow', 'Forbid', 'Replace']));
  errors.push(...validateJobSpec(spec.jobTemplate?.spec, 'spec.jobTemplate.spec'));
  return errors;
}
