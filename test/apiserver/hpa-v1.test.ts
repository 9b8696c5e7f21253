// autoscaling/v1 HorizontalPodAutoscalers over the stored v2 objects: what `kubectl autoscale`
// creates comes back through v2 with its CPU target as a Resource metric, and v2's status reads as v1's.
import t from 'tap';
import { apiHarness } from './harness.js';

const V1 = '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers';
const V2 = '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers';

t.test('create through v1, read through v2 and v1; v2 stays the preferred version', async (t) => {
  const h = await apiHarness(t);
  const created = await h.request('POST', V1, {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 1,
      maxReplicas: 3,
      targetCPUUtilizationPercentage: 50,
    },
  });
  t.equal(created.status, 201);
  t.match(created.body, { apiVersion: 'autoscaling/v1', spec: { targetCPUUtilizationPercentage: 50, maxReplicas: 3 } });
  const v2 = await h.request('GET', `${V2}/web`);
  t.same(v2.body.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]);
  t.notOk('targetCPUUtilizationPercentage' in v2.body.spec);

  await h.request('PUT', `${V2}/web/status`, {
    ...v2.body,
    status: {
      currentReplicas: 2,
      desiredReplicas: 3,
      currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 140, averageValue: '140m' } } }],
    },
  });
  const v1 = await h.request('GET', `${V1}/web`);
  t.match(v1.body.status, { currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 140 });
  const list = await h.request('GET', V1);
  t.equal(list.body.kind, 'HorizontalPodAutoscalerList');
  t.equal(list.body.items.length, 1);
  t.equal((await h.request('DELETE', `${V1}/web`)).status, 405, 'v1 only creates and reads');

  const group = await h.request('GET', '/apis/autoscaling');
  t.equal(group.body.preferredVersion.version, 'v2');
  t.same(
    group.body.versions.map((v: { version: string }) => v.version),
    ['v2', 'v1'],
  );
});
