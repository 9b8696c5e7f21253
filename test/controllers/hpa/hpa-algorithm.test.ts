// The autoscaler's arithmetic, against upstream's rules: the usage ratio with its tolerance,
// missing and unready pods, stabilization windows and rate policies.
import t from 'tap';
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, limitRate, stabilize, withDefaults } from '../../../src/controllers/hpa/behavior.js';
import { type PodSample, replicasFor } from '../../../src/controllers/hpa/replica-calculator.js';

const cpu50 = { type: 'Utilization', averageUtilization: 50 } as const;
const pod = (name: string, usage: number | undefined, o: Partial<PodSample> = {}): PodSample => ({
  name,
  ready: true,
  request: 1,
  usage,
  ...o,
});

t.test('utilization: the ratio to the target times the pods measured', async (t) => {
  // 2 pods at 100% of their request against a 50% target: twice as many.
  t.match(replicasFor(2, [pod('a', 1), pod('b', 1)], cpu50, 'cpu'), { replicas: 4, averageUtilization: 100, averageValue: 1 });
  // 2 pods at 10%: a fifth of the need, rounded up.
  t.equal(replicasFor(4, [pod('a', 0.1), pod('b', 0.1), pod('c', 0.1), pod('d', 0.1)], cpu50, 'cpu').replicas, 1);
  t.equal(replicasFor(3, [pod('a', 0.54), pod('b', 0.5), pod('c', 0.5)], cpu50, 'cpu').replicas, 3, 'within the 10% tolerance: unchanged');
  t.equal(replicasFor(3, [pod('a', 0.6), pod('b', 0.6), pod('c', 0.6)], cpu50, 'cpu').replicas, 4, 'just beyond it: ceil(1.2 × 3)');
});

t.test('average value: usage per pod against the target quantity', async (t) => {
  const target = { type: 'AverageValue', averageValue: 0.2 } as const;
  t.match(replicasFor(2, [pod('a', 0.3, { request: undefined }), pod('b', 0.5, { request: undefined })], target, 'cpu'), {
    replicas: 4,
    averageValue: 0.4,
  });
  t.notOk('averageUtilization' in replicasFor(2, [pod('a', 0.2), pod('b', 0.2)], target, 'cpu'));
});

t.test('pods without metrics, not ready, being deleted, without requests', async (t) => {
  // Scaling down: the pod without metrics is taken as at the target, which holds back the move.
  t.equal(replicasFor(3, [pod('a', 0.1), pod('b', 0.1), pod('c', undefined)], cpu50, 'cpu').replicas, 2);
  // Scaling up: the pod without metrics counts as idle.
  t.equal(
    replicasFor(3, [pod('a', 1), pod('b', 1), pod('c', undefined)], cpu50, 'cpu').replicas,
    4,
    'ceil(67% ÷ 50% × 3) = 4, not ceil(200% ÷ 50% × 2) = 4 + a pod',
  );
  // An unready pod is left out when scaling down, and counts as idle when scaling up.
  t.equal(replicasFor(2, [pod('a', 0.1), pod('b', 5, { ready: false })], cpu50, 'cpu').replicas, 1);
  t.equal(
    replicasFor(2, [pod('a', 1.5), pod('b', 5, { ready: false })], cpu50, 'cpu').replicas,
    3,
    'the unready pod as idle: 75% of two requests, ceil(1.5 × 2) = 3 rather than 6',
  );
  t.equal(replicasFor(2, [pod('a', 1), pod('b', 9, { ignored: true })], cpu50, 'cpu').replicas, 2, 'a deleted pod is not counted');
  t.throws(() => replicasFor(1, [pod('a', 1, { request: undefined })], cpu50, 'cpu'), /missing request for cpu in container of pod a/);
  t.throws(() => replicasFor(1, [pod('a', undefined)], cpu50, 'cpu'), /did not receive metrics/);
});

t.test('defaults fill the behaviour field by field', async (t) => {
  t.same(withDefaults(undefined), { scaleUp: DEFAULT_SCALE_UP, scaleDown: DEFAULT_SCALE_DOWN });
  const b = withDefaults({ scaleDown: { stabilizationWindowSeconds: 5 } });
  t.equal(b.scaleDown.stabilizationWindowSeconds, 5);
  t.same(b.scaleDown.policies, DEFAULT_SCALE_DOWN.policies);
  t.equal(b.scaleUp.stabilizationWindowSeconds, 0);
});

t.test('stabilization: down to the highest recommendation of the window, up to the lowest', async (t) => {
  const rules = withDefaults({ scaleUp: { stabilizationWindowSeconds: 60 }, scaleDown: { stabilizationWindowSeconds: 300 } });
  const now = 1_000_000;
  const history = [
    { at: now - 400_000, replicas: 10 }, // outside both windows
    { at: now - 200_000, replicas: 6 },
    { at: now - 30_000, replicas: 3 },
  ];
  t.equal(stabilize(5, 2, history, rules, now), 5, 'down: the window saw 6, so no lower than the current 5');
  t.equal(stabilize(8, 2, history, rules, now), 6, 'down: to 6, the highest of the last 300 s');
  t.equal(stabilize(2, 9, history, rules, now), 3, 'up: to 3, the lowest of the last 60 s');
  t.equal(stabilize(5, 2, [], rules, now), 2, 'no history: the recommendation itself');
});

t.test('rate policies and min/max, with the reason ScalingLimited reports', async (t) => {
  const now = 1_000_000;
  const defaults = withDefaults(undefined);
  // Up from 2: 100% or 4 pods per 15 s, the larger: 6.
  t.same(limitRate(2, 20, 1, 50, [], defaults, now), {
    replicas: 6,
    reason: 'ScaleUpLimit',
    message: 'the desired replica count is increasing faster than the maximum scale rate',
  });
  t.match(limitRate(2, 20, 1, 5, [], defaults, now), { replicas: 5, reason: 'TooManyReplicas' });
  t.match(limitRate(4, 1, 2, 10, [], defaults, now), { replicas: 2, reason: 'TooFewReplicas' });
  t.match(limitRate(4, 3, 1, 10, [], defaults, now), { replicas: 3, reason: 'DesiredWithinRange' });
  // Down by one pod per minute: a removal 30 s ago used this minute's allowance.
  const onePod = withDefaults({ scaleDown: { policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } });
  t.match(limitRate(5, 1, 1, 10, [], onePod, now), { replicas: 4, reason: 'ScaleDownLimit' });
  t.match(limitRate(4, 1, 1, 10, [{ at: now - 30_000, change: -1 }], onePod, now), { replicas: 4, reason: 'ScaleDownLimit' });
  t.match(limitRate(4, 1, 1, 10, [{ at: now - 90_000, change: -1 }], onePod, now), { replicas: 3 });
  // selectPolicy Min takes the policy allowing the smaller change; Disabled none.
  const min = withDefaults({ scaleUp: { selectPolicy: 'Min' } });
  t.match(limitRate(10, 100, 1, 100, [], min, now), { replicas: 14, reason: 'ScaleUpLimit' }, 'min(10+4, 20)');
  t.match(limitRate(10, 100, 1, 100, [], withDefaults({ scaleUp: { selectPolicy: 'Disabled' } }), now), { replicas: 10 });
  const percentDown = withDefaults({ scaleDown: { policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] } });
  t.match(limitRate(9, 1, 1, 10, [], percentDown, now), { replicas: 4 }, 'trunc(9 × 0.5)');
});
