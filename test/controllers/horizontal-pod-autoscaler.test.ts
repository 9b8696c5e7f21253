// The HPA controller against an in-process API, with a fake metrics source and a manual clock: it
// scales a Deployment through /scale, reports status, conditions and events, and waits out the
// scale-down stabilization window.
import t, { type Test } from 'tap';
import type { ApiClient } from '../../src/client/rest-client.js';
import { deployments, events, pods } from '../../src/client/resources.js';
import { HorizontalPodAutoscalerController, horizontalPodAutoscalers } from '../../src/controllers/horizontal-pod-autoscaler.js';
import type { PodUsage } from '../../src/controllers/hpa/metrics-source.js';
import { eventually } from '../helpers/eventually.js';
import { withClockedController } from './running.js';

const SYNC = 15_000;

async function setup(t: Test) {
  const usage = { perPod: 0.5 };
  const { api, clock } = await withClockedController(t, (context, clock) => {
    const metrics = {
      async podUsage(): Promise<PodUsage> {
        const list = await context.api.resource(pods).list('default');
        return new Map(list.items.map((p) => [p.metadata!.name!, new Map([['cpu', usage.perPod]])]));
      },
    };
    return new HorizontalPodAutoscalerController(context, { clock, metrics, syncPeriodMs: SYNC });
  });
  return { api, clock, usage };
}

async function webDeployment(api: ApiClient, replicas: number) {
  await api.resource(deployments).create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  });
  const d = await api.resource(deployments).get('default', 'web');
  await api.resource(deployments).updateStatus({ ...d, status: { replicas } });
  // The pods a Deployment controller would have made, Ready, each asking for half a core.
  for (const name of ['web-a', 'web-b']) {
    const p = await api.resource(pods).create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '500m' } } }] },
    });
    await api.resource(pods).updateStatus({ ...p, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
  }
}

const hpa = (target: object, behavior?: object) => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
    minReplicas: 1,
    maxReplicas: 6,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target } }],
    ...(behavior ? { behavior } : {}),
  },
});

const replicas = async (api: ApiClient) => (await api.resource(deployments).get('default', 'web')).spec?.replicas;
const condition = async (api: ApiClient, type: string) =>
  (await api.resource(horizontalPodAutoscalers).get('default', 'web')).status?.conditions?.find((c) => c.type === type);
const eventMessages = async (api: ApiClient) =>
  (await api.resource(events).list('default')).items.filter((e) => e.reason === 'SuccessfulRescale').map((e) => e.message);

t.test('scales up at once, down only after the stabilization window, with status, conditions and events', async (t) => {
  const { api, clock, usage } = await setup(t);
  await webDeployment(api, 2);
  await api
    .resource(horizontalPodAutoscalers)
    .create(hpa({ type: 'Utilization', averageUtilization: 50 }, { scaleDown: { stabilizationWindowSeconds: 60 } }) as never);

  // Both pods at 100% of their request against 50%: twice as many.
  await eventually(async () => (await replicas(api)) === 4, { what: 'a scale up to 4' });
  const status = await eventually(async () => {
    const s = (await api.resource(horizontalPodAutoscalers).get('default', 'web')).status;
    return s?.desiredReplicas === 4 ? s : undefined;
  });
  t.match(status, {
    currentReplicas: 2,
    desiredReplicas: 4,
    lastScaleTime: /Z$/,
    currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 100, averageValue: '500m' } } }],
  });
  t.match(Object.fromEntries(status.conditions!.map((c) => [c.type, `${c.status} ${c.reason}`])), {
    AbleToScale: 'True SucceededRescale',
    ScalingActive: 'True ValidMetricFound',
    ScalingLimited: 'False DesiredWithinRange',
  });
  t.same(await eventually(() => eventMessages(api).then((m) => (m.length ? m : undefined))), [
    'New size: 4; reason: cpu resource utilization (percentage of request) above target',
  ]);

  // Idle: the recommendation drops to 1, but the window still holds the 4 of a moment ago.
  usage.perPod = 0.05;
  clock.advance(SYNC);
  t.match(
    await eventually(async () => {
      const c = await condition(api, 'AbleToScale');
      return c?.reason === 'ScaleDownStabilized' ? c : undefined;
    }),
    { status: 'True', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' },
  );
  t.equal(await replicas(api), 4, 'not scaled down within the window');

  // Past the window: down to what the metrics ask for.
  clock.advance(60_000);
  await eventually(async () => (await replicas(api)) === 1, { what: 'a scale down to 1' });
  t.same(await eventually(() => eventMessages(api).then((m) => (m.length === 2 ? m.sort() : undefined))), [
    'New size: 1; reason: All metrics below target',
    'New size: 4; reason: cpu resource utilization (percentage of request) above target',
  ]);
});

t.test('max replicas and rate policies limit a scale up; ScalingLimited says why', async (t) => {
  const { api, usage } = await setup(t);
  await webDeployment(api, 2);
  usage.perPod = 2; // 400% of requests against 50%: 16 pods wanted
  await api
    .resource(horizontalPodAutoscalers)
    .create(
      hpa(
        { type: 'AverageValue', averageValue: '250m' },
        { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
      ) as never,
    );
  await eventually(async () => (await replicas(api)) === 3, { what: 'one pod more, as the policy allows' });
  t.match(
    await eventually(async () => {
      const c = await condition(api, 'ScalingLimited');
      return c?.status === 'True' ? c : undefined;
    }),
    { reason: 'ScaleUpLimit', message: 'the desired replica count is increasing faster than the maximum scale rate' },
  );
  const s = (await api.resource(horizontalPodAutoscalers).get('default', 'web')).status;
  t.match(s?.currentMetrics, [{ resource: { current: { averageValue: '2' } } }]);
  t.notOk(s?.currentMetrics?.[0]?.resource?.current.averageUtilization, 'no utilization for an AverageValue target');
});

t.test('a target that does not exist: AbleToScale False FailedGetScale', async (t) => {
  const { api } = await setup(t);
  await api.resource(horizontalPodAutoscalers).create(hpa({ type: 'Utilization', averageUtilization: 50 }) as never);
  const c = await eventually(async () => {
    const x = await condition(api, 'AbleToScale');
    return x?.status === 'False' ? x : undefined;
  });
  t.equal(c.reason, 'FailedGetScale');
  t.match(c.message, /unable to get the target's current scale/);
  t.ok(
    await eventually(async () => (await api.resource(events).list('default')).items.some((e) => e.reason === 'FailedGetScale')),
    'and a Warning event',
  );
});
