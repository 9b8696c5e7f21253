// Job: runs pods until enough succeed (completions, parallelism, Indexed completion mode), or the
// job fails (backoffLimit, activeDeadlineSeconds, a podFailurePolicy FailJob rule). Finished pods
// are counted exactly once through a tracking finalizer and status.uncountedTerminatedPods, as
// Kubernetes does; failed pods are replaced after an exponential backoff; ttlSecondsAfterFinished
// removes a finished job.
import type { Job, JobCondition, PodFailurePolicyRule } from 'kubernetes-types/batch/v1.js';
import { ownerRefTo } from '../k8s/owners.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { ignoreNotFound, isNotFound } from '../k8s/errors.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { jobs, pods, type Writable, withType } from '../client/resources.js';
import { Expectations } from './expectations.js';
import { createPodFor, isReady, podFromTemplate } from './pods.js';
import { controlledBy, indexByController, ownerHandlers, QueueController, type ControllerContext } from './runner.js';
import { nowTimestamp } from '../k8s/time.js';

type JobT = Writable<Job>;
type Pod = Writable<import('kubernetes-types/core/v1.js').Pod>;
type Condition = Writable<JobCondition>;

export const TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
const INDEX = 'batch.kubernetes.io/job-completion-index';
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 360_000;

const finished = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
const indexOf = (pod: Pod) => Number(pod.metadata?.annotations?.[INDEX] ?? -1);

/** "1,3-5" from [1,3,4,5], as Kubernetes writes completedIndexes. */
function compactIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j;
  }
  return out.join(',');
}

function parseIndexes(text: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.add(i);
  }
  return out;
}

/** The action of the first podFailurePolicy rule a failed pod matches (Count when none does). */
function failureAction(rules: Writable<PodFailurePolicyRule>[] | undefined, pod: Pod): string {
  for (const rule of rules ?? []) {
    const codes = rule.onExitCodes;
    if (codes) {
      const statuses = (pod.status?.containerStatuses ?? []).filter((s) => !codes.containerName || s.name === codes.containerName);
      const hit = statuses.some((s) => {
        const code = s.state?.terminated?.exitCode;
        if (code === undefined || code === 0) return false;
        return codes.operator === 'In' ? codes.values.includes(code) : !codes.values.includes(code);
      });
      if (hit) return rule.action;
    }
    if (rule.onPodConditions?.some((pc) => pod.status?.conditions?.some((c) => c.type === pc.type && c.status === (pc.status ?? 'True'))))
      return rule.action;
  }
  return 'Count';
}

export class JobController extends QueueController {
  readonly name = 'job';
  private readonly jobs: Informer<JobT>;
  private readonly pods: Informer<Pod>;
  private readonly jobClient: ResourceClient<JobT>;
  /** Deletes finished Jobs past ttlSecondsAfterFinished, as upstream's ttl-after-finished-controller. */
  private readonly ttlClient: ResourceClient<JobT>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly expectations = new Expectations();

  constructor(ctx: ControllerContext) {
    super();
    this.workers = 4;
    const api = ctx.client('job-controller');
    this.jobClient = api.resource(jobs);
    this.ttlClient = ctx.client('ttl-after-finished-controller').resource(jobs);
    this.podClient = api.resource(pods);
    this.recorder = ctx.recorder('job-controller');
    this.jobs = ctx.informers.for(jobs).on({ add: (j) => this.queue.add(keyOf(j)), update: (_o, j) => this.queue.add(keyOf(j)) });
    this.pods = indexByController(ctx.informers.for(pods)).on(ownerHandlers('Job', this.queue, { expectations: this.expectations }));
  }

  protected async reconcile(key: string): Promise<void> {
    const job = this.jobs.get(key);
    if (!job) {
      // The job is gone: nothing will count its pods any more, so let them go.
      const [namespace, name] = splitKey(key);
      return this.releaseFinished(
        this.pods
          .list(namespace)
          .filter((p) => p.metadata?.ownerReferences?.some((r) => r.controller && r.kind === 'Job' && r.name === name)),
      );
    }
    const owned = controlledBy(this.pods, job);
    const done = job.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    if (done || job.metadata?.deletionTimestamp) {
      await this.releaseFinished(owned);
      return this.expireAfterTtl(job);
    }
    const status = structuredClone(job.status ?? {});
    status.startTime ??= nowTimestamp();
    const indexed = job.spec?.completionMode === 'Indexed';

    // Count finished pods once: uids recorded as uncounted become counts once their finalizer is off.
    const uncounted = {
      succeeded: [...(status.uncountedTerminatedPods?.succeeded ?? [])],
      failed: [...(status.uncountedTerminatedPods?.failed ?? [])],
    };
    const stillTracked = new Set(owned.filter((p) => p.metadata?.finalizers?.includes(TRACKING_FINALIZER)).map((p) => p.metadata!.uid!));
    const completed = parseIndexes(status.completedIndexes);
    let failJob: string | undefined;
    for (const kind of ['succeeded', 'failed'] as const) {
      const settled = uncounted[kind].filter((uid) => !stillTracked.has(uid));
      status[kind] = (status[kind] ?? 0) + settled.length;
      uncounted[kind] = uncounted[kind].filter((uid) => stillTracked.has(uid));
    }
    // A pod deleted before it finished counts as failed.
    const ended = (p: Pod) => finished(p) || !!p.metadata?.deletionTimestamp;
    for (const pod of owned.filter((p) => ended(p) && p.metadata?.finalizers?.includes(TRACKING_FINALIZER))) {
      const uid = pod.metadata!.uid!;
      if (uncounted.succeeded.includes(uid) || uncounted.failed.includes(uid)) continue;
      if (pod.status?.phase === 'Succeeded') {
        uncounted.succeeded.push(uid);
        if (indexed) completed.add(indexOf(pod));
      } else {
        const action = failureAction(job.spec?.podFailurePolicy?.rules, pod);
        if (action === 'FailJob') failJob = `Container of pod ${pod.metadata!.name} matched a FailJob rule of the pod failure policy`;
        if (action !== 'Ignore') uncounted.failed.push(uid);
      }
    }
    status.uncountedTerminatedPods = uncounted.succeeded.length || uncounted.failed.length ? uncounted : undefined;
    if (indexed) status.completedIndexes = compactIndexes(completed);

    const active = owned.filter((p) => !finished(p) && !p.metadata?.deletionTimestamp);
    const succeeded = (status.succeeded ?? 0) + uncounted.succeeded.length;
    const failed = (status.failed ?? 0) + uncounted.failed.length;
    const completions = job.spec?.completions;
    const complete = indexed
      ? completed.size >= (completions ?? 1)
      : completions !== undefined
        ? succeeded >= completions
        : succeeded > 0 && active.length === 0;
    const deadline = job.spec?.activeDeadlineSeconds;
    const overDeadline = deadline !== undefined && Date.now() - Date.parse(status.startTime) > deadline * 1000;
    let conditions = status.conditions ?? [];
    const isTrue = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
    // The outcome is decided first (FailureTarget / SuccessCriteriaMet); Failed or Complete follow
    // once every finished pod has been counted.
    if (!isTrue('FailureTarget') && !isTrue('SuccessCriteriaMet')) {
      if (failJob || failed > (job.spec?.backoffLimit ?? 6) || overDeadline) {
        const [reason, message] = failJob
          ? ['PodFailurePolicy', failJob]
          : overDeadline
            ? ['DeadlineExceeded', 'Job was active longer than specified deadline']
            : ['BackoffLimitExceeded', 'Job has reached the specified backoff limit'];
        conditions = setCondition(conditions, 'FailureTarget', reason, message);
        this.recorder.event(withType(jobs, job), 'Warning', reason, message);
      } else if (complete) {
        conditions = setCondition(conditions, 'SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods');
      } else if (job.spec?.suspend) {
        conditions = setCondition(conditions, 'Suspended', 'JobSuspended', 'Job suspended');
        await this.deletePods(job, active);
      } else {
        conditions = conditions.filter((c) => c.type !== 'Suspended');
        await this.manage(job, active, succeeded, failed, completed, owned);
      }
    }
    const target = isTrue('FailureTarget') ?? isTrue('SuccessCriteriaMet');
    if (target) {
      await this.deletePods(job, active);
      if (!status.uncountedTerminatedPods) {
        const type = target.type === 'FailureTarget' ? 'Failed' : 'Complete';
        conditions = setCondition(conditions, type, target.reason!, target.message!);
        if (type === 'Complete') {
          status.completionTime = nowTimestamp();
          this.recorder.event(withType(jobs, job), 'Normal', 'Completed', 'Job completed');
        }
      }
    }
    status.conditions = conditions.length ? conditions : undefined;
    status.active = active.length || undefined;
    status.ready = active.filter(isReady).length;
    status.terminating = owned.filter((p) => p.metadata?.deletionTimestamp && !finished(p)).length;
    if (JSON.stringify(status) !== JSON.stringify(job.status ?? {})) await this.jobClient.updateStatus({ ...job, status });
    // Only after the counts are stored may the pods go.
    await this.releaseFinished(
      owned.filter(
        (p) =>
          ended(p) &&
          (status.uncountedTerminatedPods?.succeeded?.includes(p.metadata!.uid!) ||
            status.uncountedTerminatedPods?.failed?.includes(p.metadata!.uid!) ||
            failureAction(job.spec?.podFailurePolicy?.rules, p) === 'Ignore'),
      ),
    );
    if (deadline !== undefined && !target) this.queue.addAfter(key, Date.parse(status.startTime) + deadline * 1000 - Date.now() + 50);
  }

  /** Starts pods up to parallelism (and what is left to complete), after a backoff if pods failed. */
  private async manage(job: JobT, active: Pod[], succeeded: number, failed: number, completed: Set<number>, owned: Pod[]): Promise<void> {
    const key = keyOf(job);
    if (!this.expectations.satisfied(key)) return;
    const parallelism = job.spec?.parallelism ?? 1;
    const completions = job.spec?.completions;
    const indexed = job.spec?.completionMode === 'Indexed';
    const remaining = completions === undefined ? (succeeded > 0 ? 0 : parallelism) : completions - (indexed ? completed.size : succeeded);
    const want = Math.max(0, Math.min(parallelism, remaining));
    if (active.length > want) {
      this.expectations.expect(key, 0, active.length - want);
      await this.deletePods(job, active.slice(want));
      return;
    }
    if (active.length === want) return;
    if (failed > 0) {
      const lastFailure = Math.max(
        ...owned
          .filter((p) => p.status?.phase === 'Failed')
          .map(
            (p) => Date.parse(p.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt ?? p.metadata?.creationTimestamp ?? '') || 0,
          ),
        0,
      );
      const wait = lastFailure + Math.min(BACKOFF_BASE_MS * 2 ** (failed - 1), BACKOFF_MAX_MS) - Date.now();
      if (wait > 0) {
        this.queue.addAfter(key, wait);
        return;
      }
    }
    let indexes: (number | undefined)[] = Array.from({ length: want - active.length }, () => undefined);
    if (indexed) {
      const busy = new Set(active.map(indexOf));
      const free: number[] = [];
      for (let i = 0; i < (completions ?? 1) && free.length < want - active.length; i++)
        if (!completed.has(i) && !busy.has(i)) free.push(i);
      indexes = free;
    }
    this.expectations.expect(key, indexes.length, 0);
    const owner = ownerRefTo(job, 'batch/v1', 'Job');
    await Promise.all(
      indexes.map(async (index) => {
        const prefix = index === undefined ? `${job.metadata!.name}-` : `${job.metadata!.name}-${index}-`;
        const pod = podFromTemplate(job.spec!.template, job.metadata!.namespace!, prefix, owner);
        pod.metadata!.finalizers = [...(pod.metadata!.finalizers ?? []), TRACKING_FINALIZER];
        if (index !== undefined) {
          pod.metadata!.annotations = { ...pod.metadata!.annotations, [INDEX]: String(index) };
          pod.metadata!.labels = { ...pod.metadata!.labels, [INDEX]: String(index) };
          pod.spec!.hostname ??= `${job.metadata!.name}-${index}`;
          for (const c of [...(pod.spec!.containers ?? []), ...(pod.spec!.initContainers ?? [])])
            c.env = [
              ...(c.env ?? []),
              { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${INDEX}']` } } },
            ];
        }
        await createPodFor(this.podClient, this.recorder, withType(jobs, job), pod, this.expectations, key);
      }),
    );
  }

  private async deletePods(job: JobT, list: Pod[]): Promise<void> {
    await Promise.all(
      list.map(async (pod) => {
        await this.podClient
          .delete(pod.metadata!.namespace, pod.metadata!.name!, { preconditions: { uid: pod.metadata!.uid } })
          .catch((err) => {
            this.expectations.deletionObserved(keyOf(job));
            if (!isNotFound(err)) throw err;
          });
      }),
    );
  }

  /** Drops the tracking finalizer, so finished (and counted) pods can be deleted. */
  private async releaseFinished(list: Pod[]): Promise<void> {
    for (const pod of list) {
      const finalizers = pod.metadata?.finalizers ?? [];
      if (!finalizers.includes(TRACKING_FINALIZER)) continue;
      const rest = finalizers.filter((f) => f !== TRACKING_FINALIZER);
      await this.podClient
        .patch(pod.metadata!.namespace, pod.metadata!.name!, {
          metadata: { finalizers: rest.length ? rest : null, resourceVersion: pod.metadata!.resourceVersion },
        })
        .catch(ignoreNotFound);
    }
  }

  private async expireAfterTtl(job: JobT): Promise<void> {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    const finishedAt =
      job.status?.completionTime ?? job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')?.lastTransitionTime;
    if (ttl === undefined || !finishedAt || job.metadata?.deletionTimestamp) return;
    const left = Date.parse(finishedAt) + ttl * 1000 - Date.now();
    if (left > 0) return this.queue.addAfter(keyOf(job), left + 50);
    await this.ttlClient
      .delete(job.metadata!.namespace, job.metadata!.name!, { propagationPolicy: 'Background', preconditions: { uid: job.metadata!.uid } })
      .catch(ignoreNotFound);
  }
}

function setCondition(conditions: Condition[], type: string, reason: string, message: string): Condition[] {
  if (conditions.some((c) => c.type === type && c.status === 'True')) return conditions;
  const t = nowTimestamp();
  return [...conditions.filter((c) => c.type !== type), { type, status: 'True', reason, message, lastProbeTime: t, lastTransitionTime: t }];
}
