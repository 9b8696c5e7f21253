// NodeMetrics and PodMetrics from the nodes' summaries, joined with the stored nodes and pods.
import t from 'tap';
import { metricsFromSummaries } from '../../src/apiserver/metrics-api.js';
import type { StoredObject } from '../../src/k8s/object.js';
import type { Summary } from '../../src/k8s/kubelet-stats.js';

const time = '2026-01-01T00:00:00.000Z';
const stored = (kind: string, name: string, uid: string, labels: Record<string, string>, namespace?: string): StoredObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name, uid, namespace, labels, resourceVersion: '1', creationTimestamp: time },
});
const cpu = (usageNanoCores?: number) => ({ time, usageCoreNanoSeconds: 1, ...(usageNanoCores === undefined ? {} : { usageNanoCores }) });
const container = (name: string, rate?: number) => ({
  name,
  startTime: time,
  cpu: cpu(rate),
  memory: { time, workingSetBytes: 2048 * 1024 },
});

t.test('usage in metrics-server units; pods without a rate, unknown pods and unknown nodes left out', async (t) => {
  const summary: Summary = {
    node: { nodeName: 'n1', startTime: time, cpu: cpu(250_000_000), memory: { time, workingSetBytes: 1024 * 1024 } },
    pods: [
      {
        podRef: { name: 'web', namespace: 'a', uid: 'u1' },
        startTime: time,
        containers: [container('c', 5)],
        cpu: cpu(5),
        memory: { time, workingSetBytes: 0 },
      },
      {
        podRef: { name: 'new', namespace: 'a', uid: 'u2' },
        startTime: time,
        containers: [container('c')],
        cpu: cpu(),
        memory: { time, workingSetBytes: 0 },
      },
      {
        podRef: { name: 'gone', namespace: 'a', uid: 'u3' },
        startTime: time,
        containers: [container('c', 1)],
        cpu: cpu(1),
        memory: { time, workingSetBytes: 0 },
      },
    ],
  };
  const other: Summary = { ...summary, node: { ...summary.node, nodeName: 'unknown' }, pods: [] };
  const now = new Date('2026-01-01T00:00:05Z');
  const out = metricsFromSummaries(
    [summary, other],
    [stored('Node', 'n1', 'n', { zone: 'x' })],
    [stored('Pod', 'web', 'u1', { app: 'web' }, 'a'), stored('Pod', 'new', 'u2', {}, 'a')],
    now,
  );
  t.same(out.nodes, [
    {
      apiVersion: 'metrics.k8s.io/v1beta1',
      kind: 'NodeMetrics',
      metadata: { name: 'n1', labels: { zone: 'x' }, creationTimestamp: now.toISOString() },
      timestamp: time,
      window: '10s',
      usage: { cpu: '250000000n', memory: '1024Ki' },
    },
  ]);
  t.same(
    out.pods.map((p) => [p.metadata.namespace, p.metadata.name, p.metadata.labels, p.containers]),
    [['a', 'web', { app: 'web' }, [{ name: 'c', usage: { cpu: '5n', memory: '2048Ki' } }]]],
  );
});
