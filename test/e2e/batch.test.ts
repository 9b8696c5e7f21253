import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startHollowNodes } from '../helpers/hollow.js';

t.test('a DaemonSet runs on every eligible node and follows the nodes', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1', 'n2', 'n3']);
  await c.k('taint', 'node', 'n3', 'dedicated=db:NoSchedule');
  const ds = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'busybox' }] } },
    },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(ds) });
  t.match(await c.k('rollout', 'status', 'daemonset/agent', '--timeout=60s'), /daemon set "agent" successfully rolled out/);
  t.match(await c.k('get', 'daemonset', 'agent'), /^agent\s+2\s+2\s+2\s+2\s+2\s+<none>\s+/m, 'the tainted node is not eligible');
  const nodesOf = async () =>
    (await c.k('get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.nodeName}')).split(' ').filter(Boolean).sort().join(',');
  t.equal(await nodesOf(), 'n1,n2');

  await c.k('taint', 'node', 'n3', 'dedicated-');
  t.equal(
    await eventually(async () => ((await nodesOf()) === 'n1,n2,n3' ? 'n1,n2,n3' : undefined)),
    'n1,n2,n3',
    'untainted, n3 gets its pod',
  );
  await startHollowNodes(t, c, ['n4']);
  t.equal(await eventually(async () => ((await nodesOf()) === 'n1,n2,n3,n4' ? 'yes' : undefined)), 'yes', 'a new node gets one too');

  await c.k('set', 'image', 'daemonset/agent', 'a=busybox:1.37');
  t.match(await c.k('rollout', 'status', 'daemonset/agent', '--timeout=60s'), /successfully rolled out/);
  t.equal(
    await c.k('get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.containers[0].image}'),
    'busybox:1.37 busybox:1.37 busybox:1.37 busybox:1.37',
  );
  t.match(await c.k('rollout', 'history', 'daemonset/agent'), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);
  t.equal(await c.k('rollout', 'undo', 'daemonset/agent'), 'daemonset.apps/agent rolled back\n');
  const back = await eventually(async () => {
    const images = await c.k('get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.containers[0].image}');
    return images === 'busybox busybox busybox busybox' ? images : undefined;
  });
  t.ok(back, 'undo rolls the pods back to the first template');
  t.match(await c.k('rollout', 'history', 'daemonset/agent'), /\n2\s+<none>\n3\s+<none>\n/, 'which is now revision 3');
});

t.test('Jobs complete (also Indexed, parallel); a CronJob fires on schedule and by hand', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1', 'n2'], { completeAfterMs: 300 });

  t.equal(await c.k('create', 'job', 'once', '--image=busybox'), 'job.batch/once created\n');
  const indexed = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'indexed' },
    spec: {
      completions: 5,
      parallelism: 2,
      completionMode: 'Indexed',
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'busybox' }] } },
    },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(indexed) });
  t.match(
    await c.k('wait', '--for=condition=complete', 'job/once', 'job/indexed', '--timeout=60s'),
    /job.batch\/once condition met\njob.batch\/indexed condition met/,
  );
  t.match(await c.k('get', 'jobs'), /^indexed\s+Complete\s+5\/5\s+/m);
  t.match(await c.k('get', 'jobs'), /^once\s+Complete\s+1\/1\s+/m);
  t.equal(await c.k('get', 'job', 'indexed', '-o', 'jsonpath={.status.completedIndexes}'), '0-4');
  const hostnames = await c.k('get', 'pods', '-l', 'job-name=indexed', '-o', 'jsonpath={.items[*].spec.hostname}');
  t.same(hostnames.split(' ').sort(), ['indexed-0', 'indexed-1', 'indexed-2', 'indexed-3', 'indexed-4']);
  t.match(await c.k('describe', 'job', 'indexed'), /Normal\s+Completed\s+.*job-controller\s+Job completed/);

  // ttlSecondsAfterFinished: the finished job (and its pods) go after a second.
  await c.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      ...indexed,
      metadata: { name: 'brief' },
      spec: { ttlSecondsAfterFinished: 1, template: indexed.spec.template },
    }),
  });
  t.match(await c.k('wait', '--for=condition=complete', 'job/brief', '--timeout=60s'), /condition met/);
  t.ok(
    await eventually(
      async () =>
        (await c.k('get', 'jobs,pods', '-l', 'job-name=brief', '-o', 'name')) === '' &&
        (await c.kubectl(['get', 'job', 'brief'])).code !== 0,
    ),
    'removed after its TTL',
  );

  // The pods no longer carry the tracking finalizer once counted.
  t.equal(await c.k('get', 'pods', '-l', 'job-name=once', '-o', 'jsonpath={.items[0].metadata.finalizers}'), '');

  t.equal(await c.k('create', 'cronjob', 'tick', '--image=busybox', '--schedule=*/1 * * * *'), 'cronjob.batch/tick created\n');
  t.equal(await c.k('create', 'job', 'by-hand', '--from=cronjob/tick'), 'job.batch/by-hand created\n');
  t.match(await c.k('wait', '--for=condition=complete', 'job/by-hand', '--timeout=60s'), /condition met/);
  // A real firing at the next minute boundary.
  const fired = await eventually(
    async () => {
      const out = await c.k(
        'get',
        'jobs',
        '-l',
        '',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name} {.metadata.ownerReferences[0].kind}{"\\n"}{end}',
      );
      return out.split('\n').find((l) => /^tick-\d+ CronJob$/.test(l));
    },
    { timeout: 75_000 },
  );
  t.ok(fired, `the schedule fired (${fired})`);
  t.match(await c.k('get', 'cronjob', 'tick'), /^tick\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+[01]\s+\d+s\s+/m);
  t.match(await c.k('describe', 'cronjob', 'tick'), /SuccessfulCreate\s+.*cronjob-controller\s+Created job tick-\d+/);
});

t.test('Jobs fail: backoffLimit with a backoff between tries, a podFailurePolicy FailJob rule, activeDeadlineSeconds', async (t) => {
  const c = await startCluster(t);
  await startHollowNodes(t, c, ['n1'], { completeAfterMs: 200 });
  const job = (name: string, spec: object, exitCode: string, runMs = '200') => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      ...spec,
      template: {
        metadata: { annotations: { 'hollow.skiff.io/exit-code': exitCode, 'hollow.skiff.io/run-ms': runMs } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
      },
    },
  });
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(job('flaky', { backoffLimit: 1 }, '1')) });
  await c.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify(
      job(
        'fatal',
        {
          backoffLimit: 6,
          podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } }] },
        },
        '42',
      ),
    ),
  });
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(job('slow', { activeDeadlineSeconds: 2 }, '0', '600000')) });

  t.match(await c.k('wait', '--for=condition=failed', 'job/fatal', '--timeout=60s'), /condition met/);
  t.equal(
    await c.k('get', 'job', 'fatal', '-o', 'jsonpath={.status.conditions[?(@.type=="Failed")].reason} {.status.failed}'),
    'PodFailurePolicy 1',
    'the FailJob rule ends it at the first failure',
  );

  t.match(await c.k('wait', '--for=condition=failed', 'job/flaky', '--timeout=90s'), /condition met/);
  t.equal(
    await c.k('get', 'job', 'flaky', '-o', 'jsonpath={.status.conditions[?(@.type=="Failed")].reason} {.status.failed}'),
    'BackoffLimitExceeded 2',
    'one retry, then it gives up',
  );
  const starts = (await c.k('get', 'pods', '-l', 'job-name=flaky', '-o', 'jsonpath={.items[*].status.startTime}'))
    .split(' ')
    .map(Date.parse)
    .sort();
  t.ok(starts[1]! - starts[0]! >= 10_000, 'the retry waited out the 10 s backoff');
  t.match(
    await c.k('describe', 'job', 'flaky'),
    /Warning\s+BackoffLimitExceeded\s+.*job-controller\s+Job has reached the specified backoff limit/,
  );
  t.match(await c.k('wait', '--for=condition=failed', 'job/slow', '--timeout=60s'), /condition met/);
  t.equal(await c.k('get', 'job', 'slow', '-o', 'jsonpath={.status.conditions[?(@.type=="Failed")].reason}'), 'DeadlineExceeded');
  t.ok(await eventually(async () => (await c.k('get', 'pods', '-l', 'job-name=slow', '-o', 'name')) === ''), 'its running pod was stopped');
});
