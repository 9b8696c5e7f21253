// A HorizontalPodAutoscaler on a real node: `kubectl autoscale` a Deployment whose pod burns CPU,
// it scales up and `kubectl get hpa` shows the real utilization; once the pods idle it scales back
// down (a short scale-down window in the spec keeps the test quick).
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { BUSYBOX } from '../helpers/node-env.js';

// MODE=idle makes the same pod sleep, so that load can be turned off by a rollout.
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: burn}
spec:
  replicas: 1
  selector: {matchLabels: {app: burn}}
  template:
    metadata: {labels: {app: burn}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: main
        image: ${BUSYBOX}
        env: [{name: MODE, value: busy}]
        command: [sh, -c, 'if [ "$MODE" = idle ]; then exec sleep 3600; fi; while true; do :; done']
        resources: {requests: {cpu: 100m}}
`;

t.test('kubectl autoscale: up under load, down when idle, real numbers in kubectl get hpa', async (t) => {
  const c = await startCluster(t, [], { agent: true });
  await c.kubectl(['apply', '-f', '-'], { input: deployment });
  t.teardown(async () => {
    await c.kubectl(['delete', 'hpa', 'burn']);
    await c.kubectl(['delete', 'deployment', 'burn']);
    await c.kubectl(['delete', 'pods', '-l', 'app=burn', '--wait=true']);
  });
  await c.k('rollout', 'status', 'deployment/burn', '--timeout=120s');
  t.equal(
    await c.k('autoscale', 'deployment', 'burn', '--cpu-percent=50', '--min=1', '--max=2'),
    'horizontalpodautoscaler.autoscaling/burn autoscaled\n',
  );
  await c.k('patch', 'hpa', 'burn', '--type=merge', '-p', '{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":5}}}}');

  // A busy loop against a 100m request is far above 50%: up to the maximum.
  await eventually(async () => (await c.k('get', 'deployment', 'burn', '-o', 'jsonpath={.spec.replicas}')) === '2', {
    what: 'a scale up to 2',
    timeout: 150_000,
    explain: () => c.k('describe', 'hpa', 'burn'),
  });
  const row = await eventually(async () => {
    const out = await c.k('get', 'hpa', 'burn');
    const m = /^burn\s+Deployment\/burn\s+cpu:\s*(\d+)%\/50%\s+1\s+2\s+(\d+)\s/m.exec(out);
    return m && Number(m[1]) > 50 ? { utilization: Number(m[1]), out } : undefined;
  });
  t.ok(row.utilization > 50, `kubectl get hpa shows the measured utilization (${row.utilization}%)`);
  t.match(row.out, /^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE/);
  const described = await c.k('describe', 'hpa', 'burn');
  t.match(described, /SuccessfulRescale\s+.*New size: 2; reason: cpu resource utilization \(percentage of request\) above target/);
  t.match(described, /AbleToScale\s+True/);
  t.match(described, /ScalingActive\s+True\s+ValidMetricFound/);

  // Idle pods: back down to the minimum once the new pods' usage is measured.
  await c.k('set', 'env', 'deployment/burn', 'MODE=idle');
  await eventually(async () => (await c.k('get', 'deployment', 'burn', '-o', 'jsonpath={.spec.replicas}')) === '1', {
    what: 'a scale down to 1',
    timeout: 180_000,
    explain: () => c.k('describe', 'hpa', 'burn'),
  });
  t.match(await c.k('describe', 'hpa', 'burn'), /New size: 1; reason: All metrics below target/);
});
