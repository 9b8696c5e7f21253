// CronJob: creates a Job at each scheduled time (cron schedule in spec.timeZone), honouring
// suspend, startingDeadlineSeconds and concurrencyPolicy (Allow, Forbid, Replace); keeps the
// last successful and failed jobs up to the history limits.
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import { CronExpressionParser } from 'cron-parser';
import { isControlledBy, ownerRefTo } from '../k8s/owners.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { ignoreNotFound, isAlreadyExists } from '../k8s/errors.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { cronJobs, jobs, type Writable, withType } from '../client/resources.js';
import { ownerHandlers, QueueController, type ControllerContext } from './runner.js';
import { nowTimestamp } from '../k8s/time.js';
import { realClock, type Clock } from '../k8s/clock.js';

type CJ = Writable<CronJob>;
type JobT = Writable<Job>;

const SCHEDULED_AT = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
const outcome = (job: JobT) =>
  job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type;

export class CronJobController extends QueueController {
  readonly name = 'cronjob';
  private readonly cronJobs: Informer<CJ>;
  private readonly jobs: Informer<JobT>;
  private readonly cjClient: ResourceClient<CJ>;
  private readonly jobClient: ResourceClient<JobT>;
  private readonly recorder: EventRecorder;

  /** `clock` is the time source (tests move it to the next scheduled time). */
  constructor(
    ctx: ControllerContext,
    private readonly clock: Clock = realClock,
  ) {
    super();
    const api = ctx.client('cronjob-controller');
    this.cjClient = api.resource(cronJobs);
    this.jobClient = api.resource(jobs);
    this.recorder = ctx.recorder('cronjob-controller');
    this.cronJobs = ctx.informers.for(cronJobs).on({ add: (c) => this.queue.add(keyOf(c)), update: (_o, c) => this.queue.add(keyOf(c)) });
    this.jobs = ctx.informers.for(jobs).on(ownerHandlers('CronJob', this.queue));
  }

  protected async reconcile(key: string): Promise<void> {
    const cj = this.cronJobs.get(key);
    if (!cj || cj.metadata?.deletionTimestamp) return;
    const [namespace] = splitKey(key);
    const owned = this.jobs.list(namespace).filter((j) => isControlledBy(j, cj));
    let active = owned.filter((j) => !outcome(j) && !j.metadata?.deletionTimestamp);
    const status = structuredClone(cj.status ?? {});
    const successes = owned.filter((j) => outcome(j) === 'Complete');
    const lastSuccess = successes
      .map((j) => j.status?.completionTime ?? '')
      .sort()
      .pop();
    if (lastSuccess) status.lastSuccessfulTime = lastSuccess;
    for (const job of owned.filter((j) => outcome(j) && status.active?.some((r) => r.uid === j.metadata?.uid))) {
      this.recorder.event(
        withType(cronJobs, cj),
        'Normal',
        'SawCompletedJob',
        `Saw completed job: ${job.metadata!.name}, condition: ${outcome(job)}`,
      );
    }
    await this.trimHistory(cj, owned);

    const now = this.clock.now();
    const tz = cj.spec?.timeZone ?? undefined;
    if (!cj.spec?.suspend) {
      const since = Date.parse(status.lastScheduleTime ?? cj.metadata!.creationTimestamp!);
      const due = CronExpressionParser.parse(cj.spec!.schedule, { currentDate: new Date(now + 1), tz })
        .prev()
        .getTime();
      const deadline = cj.spec?.startingDeadlineSeconds;
      if (due > since) {
        if (deadline !== undefined && deadline !== null && now - due > deadline * 1000) {
          this.recorder.event(
            withType(cronJobs, cj),
            'Warning',
            'MissSchedule',
            `Missed scheduled time to start a job: ${nowTimestamp(new Date(due))}`,
          );
          status.lastScheduleTime = nowTimestamp(new Date(due));
        } else if (cj.spec?.concurrencyPolicy === 'Forbid' && active.length) {
          this.recorder.event(
            withType(cronJobs, cj),
            'Normal',
            'JobAlreadyActive',
            'Not starting job because prior execution is running and concurrency policy is Forbid',
          );
        } else {
          if (cj.spec?.concurrencyPolicy === 'Replace') {
            for (const job of active) {
              await this.jobClient
                .delete(job.metadata!.namespace, job.metadata!.name!, { propagationPolicy: 'Background' })
                .catch(ignoreNotFound);
              this.recorder.event(withType(cronJobs, cj), 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata!.name}`);
            }
            active = [];
          }
          const job = await this.createJob(cj, due);
          active = [...active.filter((j) => j.metadata?.uid !== job.metadata?.uid), job];
          status.lastScheduleTime = nowTimestamp(new Date(due));
        }
      }
    }
    status.active = active.length
      ? active.map((j) => ({
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: j.metadata!.name,
          namespace: j.metadata!.namespace,
          uid: j.metadata!.uid,
          resourceVersion: j.metadata!.resourceVersion,
        }))
      : undefined;
    if (JSON.stringify(status) !== JSON.stringify(cj.status ?? {}))
      await this.cjClient.updateStatus({ ...cj, status }).catch(ignoreNotFound);
    const next = CronExpressionParser.parse(cj.spec!.schedule, { currentDate: new Date(now), tz })
      .next()
      .getTime();
    this.queue.addAfter(key, next - now + 100);
  }

  private async createJob(cj: CJ, scheduled: number): Promise<JobT> {
    const template = structuredClone(cj.spec!.jobTemplate);
    const job: JobT = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: `${cj.metadata!.name}-${Math.floor(scheduled / 60_000)}`,
        namespace: cj.metadata!.namespace,
        labels: template.metadata?.labels,
        annotations: { ...template.metadata?.annotations, [SCHEDULED_AT]: nowTimestamp(new Date(scheduled)) },
        ownerReferences: [ownerRefTo(cj, 'batch/v1', 'CronJob')],
      },
      spec: template.spec,
    };
    try {
      const created = await this.jobClient.create(job);
      this.recorder.event(withType(cronJobs, cj), 'Normal', 'SuccessfulCreate', `Created job ${created.metadata!.name}`);
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) {
        this.recorder.event(withType(cronJobs, cj), 'Warning', 'FailedCreate', `Error creating job: ${(err as Error).message}`);
        throw err;
      }
      return this.jobClient.get(job.metadata!.namespace, job.metadata!.name!);
    }
  }

  /** Finished jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit go, oldest first. */
  private async trimHistory(cj: CJ, owned: JobT[]): Promise<void> {
    const limits = { Complete: cj.spec?.successfulJobsHistoryLimit ?? 3, Failed: cj.spec?.failedJobsHistoryLimit ?? 1 };
    for (const [kind, limit] of Object.entries(limits)) {
      const done = owned
        .filter((j) => outcome(j) === kind && !j.metadata?.deletionTimestamp)
        .sort((a, b) => (a.status?.startTime ?? '').localeCompare(b.status?.startTime ?? ''));
      for (const job of done.slice(0, Math.max(0, done.length - limit))) {
        await this.jobClient
          .delete(job.metadata!.namespace, job.metadata!.name!, { propagationPolicy: 'Background' })
          .catch(ignoreNotFound);
        this.recorder.event(withType(cronJobs, cj), 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata!.name}`);
      }
    }
  }
}
