import t, { type Test } from 'tap';
import { cronJobs, jobs } from '../../src/client/resources.js';
import { CronJobController } from '../../src/controllers/cronjob.js';
import { eventually } from '../helpers/eventually.js';
import { withClockedController } from './running.js';
import { ignoreNotFound } from '../../src/k8s/errors.js';

const MINUTE = 60_000;

/** Counts reconciles, so that the test can wait for one that began after it moved the clock. */
class ObservedCronJobController extends CronJobController {
  started = 0;
  finished = 0;
  protected override async reconcile(key: string): Promise<void> {
    const n = ++this.started;
    await super.reconcile(key);
    this.finished = Math.max(this.finished, n);
  }
}

/** A CronJob controller on its own clock against an in-process API; `at(ms)` moves time and waits. */
async function setup(t: Test) {
  let controller!: ObservedCronJobController;
  const { api, clock, informers } = await withClockedController(t, (context, clock) => {
    controller = new ObservedCronJobController(context, clock);
    return controller;
  });
  const jobNames = async () => (await api.resource(jobs).list('default')).items.map((j) => j.metadata!.name!).sort();
  const versions = (items: { metadata?: { name?: string; resourceVersion?: string } }[]) =>
    items
      .map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`)
      .sort()
      .join(' ');
  /** The controller's caches hold what the API holds. */
  const inSync = async () =>
    versions((await api.resource(cronJobs).list('default')).items) === versions(informers.for(cronJobs).list('default')) &&
    versions((await api.resource(jobs).list('default')).items) === versions(informers.for(jobs).list('default'));
  return {
    api,
    jobNames,
    /** Moves the clock to `ms`, then waits for a reconcile of the CronJob that saw it and all that came before. */
    async at(ms: number, cron = 'tick') {
      clock.set(ms);
      await eventually(inSync, { what: "the controller's caches to catch up with the API" });
      const before = controller.started;
      controller.queue.add(`default/${cron}`);
      await eventually(() => controller.finished > before, { what: `a reconcile of default/${cron} at ${new Date(ms).toISOString()}` });
    },
    get now() {
      return clock.now();
    },
    set now(ms: number) {
      clock.set(ms);
    },
  };
}

const cronJob = (name: string, spec: object) => ({
  apiVersion: 'batch/v1' as const,
  kind: 'CronJob' as const,
  metadata: { name, namespace: 'default' },
  spec: {
    schedule: '*/5 * * * *',
    jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } },
    ...spec,
  },
});

const nextFive = (ms: number) => Math.ceil((ms + 1) / (5 * MINUTE)) * 5 * MINUTE;

t.test('fires at each scheduled time, once, named by the minute', async (t) => {
  const s = await setup(t);
  await s.api.resource(cronJobs).create(cronJob('tick', {}) as never);
  await s.at(s.now);
  t.same(await s.jobNames(), [], 'nothing before the first scheduled time');
  const first = nextFive(s.now);
  await s.at(first + 1000);
  t.same(await s.jobNames(), [`tick-${first / MINUTE}`]);
  await s.at(first + 2000);
  t.equal((await s.jobNames()).length, 1, 'not twice for the same time');
  const cj = await s.api.resource(cronJobs).get('default', 'tick');
  t.equal(cj.status?.lastScheduleTime, new Date(first).toISOString().replace('.000Z', 'Z'));
  t.equal(cj.status?.active?.length, 1);
  const job = await s.api.resource(jobs).get('default', `tick-${first / MINUTE}`);
  t.match(job.metadata, {
    ownerReferences: [{ kind: 'CronJob', name: 'tick', controller: true }],
    annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': new Date(first).toISOString().replace('.000Z', 'Z') },
  });
});

t.test('concurrencyPolicy Forbid skips while a job runs; Replace swaps it', async (t) => {
  const s = await setup(t);
  await s.api.resource(cronJobs).create(cronJob('tick', { concurrencyPolicy: 'Forbid' }) as never);
  const first = nextFive(s.now);
  await s.at(first + 1000);
  await s.at(first + 5 * MINUTE + 1000);
  t.same(await s.jobNames(), [`tick-${first / MINUTE}`], 'Forbid: the second run waits for the first');
  await s.api.resource(cronJobs).patch('default', 'tick', { spec: { concurrencyPolicy: 'Replace' } });
  await s.at(first + 10 * MINUTE + 1000);
  const names = await s.jobNames();
  t.ok(names.includes(`tick-${first / MINUTE + 10}`), 'Replace: the new run starts');
  const old = await s.api
    .resource(jobs)
    .get('default', `tick-${first / MINUTE}`)
    .catch(ignoreNotFound);
  t.ok(!old || old.metadata?.deletionTimestamp, 'and the running one is deleted');
});

t.test('suspend and startingDeadlineSeconds skip runs', async (t) => {
  const s = await setup(t);
  await s.api.resource(cronJobs).create(cronJob('tick', { suspend: true, startingDeadlineSeconds: 60 }) as never);
  const first = nextFive(s.now);
  await s.at(first + 1000);
  t.same(await s.jobNames(), [], 'suspended: nothing runs');
  s.now = first + 3 * MINUTE;
  await s.api.resource(cronJobs).patch('default', 'tick', { spec: { suspend: false } });
  await s.at(first + 3 * MINUTE);
  t.same(await s.jobNames(), [], 'resumed three minutes late, past the 60 s deadline: the run is missed');
  const cj = await s.api.resource(cronJobs).get('default', 'tick');
  t.equal(cj.status?.lastScheduleTime, new Date(first).toISOString().replace('.000Z', 'Z'), 'and recorded as handled');
  await s.at(first + 5 * MINUTE + 10_000);
  t.same(await s.jobNames(), [`tick-${first / MINUTE + 5}`], 'the next one, in time, runs');
});

t.test('history limits keep the newest finished jobs', async (t) => {
  const s = await setup(t);
  await s.api.resource(cronJobs).create(cronJob('tick', { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 }) as never);
  let time = nextFive(s.now);
  for (let i = 0; i < 3; i++) {
    await s.at(time + 1000);
    // Finish each run: the first two succeed, the last fails.
    const name = `tick-${time / MINUTE}`;
    const job = await s.api.resource(jobs).get('default', name);
    const type = i < 2 ? 'Complete' : 'Failed';
    const stamp = new Date(time + 2000).toISOString().replace(/\.\d+Z$/, 'Z');
    await s.api.resource(jobs).updateStatus({
      ...job,
      status: {
        startTime: stamp,
        ...(type === 'Complete' ? { completionTime: stamp, succeeded: 1 } : { failed: 1 }),
        conditions: [
          { type: type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget', status: 'True' },
          { type, status: 'True' },
        ],
      },
    });
    time += 5 * MINUTE;
  }
  await s.at(time - 5 * MINUTE + 3000);
  const names = await s.jobNames();
  t.same(names, [`tick-${(time - 10 * MINUTE) / MINUTE}`], 'one successful job kept, the failed one and the older success removed');
  t.ok((await s.api.resource(cronJobs).get('default', 'tick')).status?.lastSuccessfulTime, 'lastSuccessfulTime recorded');
});
