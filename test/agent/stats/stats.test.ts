// The node's usage as the kubelet reports it: CPU rates from cumulative counters, /proc parsing,
// pods summed from their containers, and the Prometheus text of /metrics/resource.
import t from 'tap';
import { CpuRates, nanoCores } from '../../../src/agent/stats/cpu-rate.js';
import { parseMeminfo, parseProcStatCpu } from '../../../src/agent/stats/node-usage.js';
import { resourceMetrics } from '../../../src/agent/stats/resource-metrics.js';
import { StatsProvider } from '../../../src/agent/stats/stats-provider.js';
import { podStats, type ContainerReading } from '../../../src/agent/stats/summary.js';

const S = 1e9;

t.test('a rate is the counter difference over the time between two samples', async (t) => {
  t.equal(nanoCores(undefined, { timeNs: S, usageCoreNanoSeconds: 5 }), undefined, 'one sample has no rate');
  // Half a core for 10 s: 5 core-seconds.
  t.equal(nanoCores({ timeNs: 0, usageCoreNanoSeconds: 0 }, { timeNs: 10 * S, usageCoreNanoSeconds: 5 * S }), 500_000_000);
  t.equal(nanoCores({ timeNs: 0, usageCoreNanoSeconds: 9 * S }, { timeNs: 10 * S, usageCoreNanoSeconds: S }), undefined, 'a reset counter');
  t.equal(nanoCores({ timeNs: 5, usageCoreNanoSeconds: 0 }, { timeNs: 5, usageCoreNanoSeconds: 1 }), undefined, 'no time passed');
});

t.test('CpuRates keeps the last rate for samples too close together and forgets gone counters', async (t) => {
  const rates = new CpuRates(S);
  t.equal(rates.observe('a', { timeNs: 0, usageCoreNanoSeconds: 0 }), undefined);
  t.equal(rates.observe('a', { timeNs: 2 * S, usageCoreNanoSeconds: 2 * S }), S, 'one core');
  t.equal(rates.observe('a', { timeNs: 2.5 * S, usageCoreNanoSeconds: 2 * S }), S, 'half a second later: the previous rate');
  t.equal(rates.observe('a', { timeNs: 4 * S, usageCoreNanoSeconds: 2.5 * S }), S / 4, 'against the sample kept, 2 s before');
  rates.retain(new Set());
  t.equal(rates.observe('a', { timeNs: 6 * S, usageCoreNanoSeconds: 3 * S }), undefined, 'forgotten: starts again');
});

t.test('/proc/stat and /proc/meminfo', async (t) => {
  // user nice system idle iowait irq softirq steal: idle and iowait are not usage.
  t.equal(parseProcStatCpu('cpu  100 20 30 9999 555 4 6 10 0 0\ncpu0 1 2 3 4\n'), 170 * 1e7, '170 ticks of 10 ms');
  t.throws(() => parseProcStatCpu('intr 1 2 3\n'));
  const m = parseMeminfo('MemTotal:       1000 kB\nMemFree:         200 kB\nMemAvailable:    600 kB\nBuffers: 5 kB\n');
  t.same(m, { availableBytes: 600 * 1024, usageBytes: 800 * 1024, workingSetBytes: 400 * 1024 });
});

const reading = (pod: string, container: string, cpu: number, rate: number | undefined, mem: number, createdS = 100): ContainerReading => ({
  labels: {
    'io.kubernetes.pod.name': pod,
    'io.kubernetes.pod.namespace': 'ns',
    'io.kubernetes.pod.uid': `uid-${pod}`,
    'io.kubernetes.container.name': container,
  },
  createdAtNs: createdS * S,
  cpu: { time: '2026-01-01T00:00:10.000Z', usageCoreNanoSeconds: cpu, ...(rate === undefined ? {} : { usageNanoCores: rate }) },
  memory: { time: '2026-01-01T00:00:10.000Z', workingSetBytes: mem, usageBytes: mem },
});

t.test('pods are their containers summed, a rate only when every container has one', async (t) => {
  const pods = podStats([
    reading('web', 'b', 3 * S, 200, 2048, 120),
    reading('web', 'a', 2 * S, 100, 1024),
    reading('db', 'main', 1, undefined, 10),
    { ...reading('x', 'y', 1, 1, 1), labels: {} }, // not the kubelet's
  ]);
  t.same(
    pods.map((p) => p.podRef.name),
    ['db', 'web'],
  );
  const web = pods[1]!;
  t.same(
    web.containers.map((c) => c.name),
    ['a', 'b'],
  );
  t.equal(web.cpu.usageNanoCores, 300);
  t.equal(web.cpu.usageCoreNanoSeconds, 5 * S);
  t.equal(web.memory.workingSetBytes, 3072);
  t.equal(web.startTime, new Date(100_000).toISOString(), 'the earliest container');
  t.notOk('usageNanoCores' in pods[0]!.cpu);
});

t.test('/metrics/resource: cumulative seconds and working sets with millisecond timestamps', async (t) => {
  const time = '2026-01-01T00:00:10.000Z';
  const text = resourceMetrics({
    node: {
      nodeName: 'n',
      startTime: time,
      cpu: { time, usageCoreNanoSeconds: 12.5 * S },
      memory: { time, workingSetBytes: 4096 },
    },
    pods: podStats([reading('web', 'a', 2 * S, 100, 1024)]),
  });
  const ts = Date.parse(time);
  t.match(text, `# TYPE node_cpu_usage_seconds_total counter\nnode_cpu_usage_seconds_total 12.5 ${ts}\n`);
  t.match(text, `node_memory_working_set_bytes 4096 ${ts}\n`);
  t.match(text, `container_cpu_usage_seconds_total{container="a",namespace="ns",pod="web"} 2 ${ts}\n`);
  t.match(text, `container_memory_working_set_bytes{container="a",namespace="ns",pod="web"} 1024 ${ts}\n`);
  t.match(text, `pod_cpu_usage_seconds_total{namespace="ns",pod="web"} 2 ${ts}\n`);
  t.match(text, `pod_memory_working_set_bytes{namespace="ns",pod="web"} 1024 ${ts}\n`);
});

t.test('the provider: node and running containers, rates from its own previous reading', async (t) => {
  let now = 1000 * S;
  let nodeCpu = 0;
  let containerCpu = 0;
  const labels = reading('web', 'a', 0, 0, 0).labels;
  const provider = new StatsProvider({
    nodeName: 'n1',
    nowNs: () => now,
    readNode: async () => ({ usageCoreNanoSeconds: nodeCpu, memory: { availableBytes: 1, usageBytes: 2, workingSetBytes: 3 } }),
    cri: {
      listContainers: async () => [{ id: 'c1', createdAt: 900 * S } as never],
      listContainerStats: async () => [
        {
          attributes: { id: 'c1', labels },
          cpu: { timestamp: now, usageCoreNanoSeconds: { value: containerCpu } },
          memory: { timestamp: now, workingSetBytes: { value: 777 } },
        },
        { attributes: { id: 'exited', labels }, cpu: { timestamp: now, usageCoreNanoSeconds: { value: 5 } }, memory: null },
      ],
    },
  });
  const first = await provider.summary();
  t.equal(first.node.nodeName, 'n1');
  t.notOk('usageNanoCores' in first.node.cpu, 'no rate from one reading');
  now += 10 * S;
  nodeCpu += 15 * S; // 1.5 cores
  containerCpu += 2.5 * S; // a quarter core
  const second = await provider.summary();
  t.equal(second.node.cpu.usageNanoCores, 1_500_000_000);
  t.equal(second.node.memory.workingSetBytes, 3);
  t.equal(second.pods.length, 1, 'the exited container is not counted');
  t.equal(second.pods[0]!.containers[0]!.cpu.usageNanoCores, 250_000_000);
  t.equal(second.pods[0]!.containers[0]!.memory.workingSetBytes, 777);
});

t.test('the provider asks containerd for no container stats while nothing runs', async (t) => {
  let asked = 0;
  const provider = new StatsProvider({
    nodeName: 'n1',
    readNode: async () => ({ usageCoreNanoSeconds: 0, memory: { availableBytes: 1, usageBytes: 2, workingSetBytes: 3 } }),
    cri: {
      listContainers: async () => [],
      listContainerStats: async () => {
        asked++;
        return [];
      },
    },
  });
  t.same((await provider.summary()).pods, []);
  t.equal(asked, 0);
});
