// batch/v1: run-to-completion work.
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import { humanDuration } from '../../printers/duration.js';
import { defaultCronJob, defaultJob } from '../../defaults/workloads.js';
import { validateCronJob, validateJob } from '../../validation/workloads.js';
import { withMeta } from '../../validation/object-meta.js';
import type { ResourceDef } from '../types.js';
import { age, col, int, labelString, since, workloadWideColumns } from './columns.js';

const batch = (d: Omit<ResourceDef, 'group' | 'version' | 'schemaName'>): ResourceDef => ({
  group: 'batch',
  version: 'v1',
  schemaName: `io.k8s.api.batch.v1.${d.kind}`,
  ...d,
});

function jobStatus(j: Job): string {
  const has = (type: string) => j.status?.conditions?.some((c) => c.type === type && c.status === 'True');
  for (const type of ['Complete', 'Failed', 'FailureTarget', 'SuccessCriteriaMet', 'Suspended'])
    if (has(type)) return type === 'Complete' ? 'Complete' : type;
  return 'Running';
}

function completions(j: Job): string {
  const done = j.status?.succeeded ?? 0;
  if (j.spec?.completions !== undefined) return `${done}/${j.spec.completions}`;
  const parallelism = j.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${done}/1 of ${parallelism}` : `${done}/1`;
}

function duration(j: Job, now: Date): string {
  const start = j.status?.startTime;
  if (!start) return '';
  const end = j.status?.completionTime ? Date.parse(j.status.completionTime) : now.getTime();
  return humanDuration(end - Date.parse(start));
}

export const batchResources: ResourceDef[] = [
  batch({
    kind: 'Job',
    plural: 'jobs',
    singular: 'job',
    namespaced: true,
    categories: ['all'],
    statusSubresource: true,
    selectableFields: { 'status.successful': (o) => String((o as Job).status?.succeeded ?? 0) },
    columns: [col('Status', jobStatus), col('Completions', completions), col('Duration', duration), age, ...workloadWideColumns()],
    defaults: defaultJob,
    validate: withMeta('jobs', validateJob),
  }),
  batch({
    kind: 'CronJob',
    plural: 'cronjobs',
    singular: 'cronjob',
    namespaced: true,
    shortNames: ['cj'],
    categories: ['all'],
    statusSubresource: true,
    columns: [
      col('Schedule', (c: CronJob) => c.spec?.schedule ?? ''),
      col('Timezone', (c: CronJob) => c.spec?.timeZone ?? '<none>'),
      col('Suspend', (c: CronJob) => (c.spec?.suspend ? 'True' : 'False')),
      int('Active', (c: CronJob) => c.status?.active?.length),
      col('Last Schedule', (c: CronJob, now) => since(c.status?.lastScheduleTime, now)),
      age,
      ...workloadWideColumns((c: CronJob) => c.spec?.jobTemplate?.spec?.template?.spec, false),
      col('Selector', (c: CronJob) => labelString(c.spec?.jobTemplate?.spec?.selector?.matchLabels), { wide: true }),
    ],
    defaults: defaultCronJob,
    validate: withMeta('cronjobs', validateCronJob),
  }),
];
