// The kubelet's /metrics/resource: the summary's cumulative CPU and working set in Prometheus'
// text format, each sample with its timestamp (milliseconds), as metrics-server scrapes it.
import type { Summary } from '../../k8s/kubelet-stats.js';

const ms = (time: string) => Date.parse(time);
const seconds = (coreNanoSeconds: number) => String(coreNanoSeconds / 1e9);
const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(',')}}`;

const FAMILIES: [name: string, type: string, help: string][] = [
  ['node_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the node in core-seconds'],
  ['node_memory_working_set_bytes', 'gauge', 'Current working set of the node in bytes'],
  ['pod_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the pod in core-seconds'],
  ['pod_memory_working_set_bytes', 'gauge', 'Current working set of the pod in bytes'],
  ['container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the container in core-seconds'],
  ['container_memory_working_set_bytes', 'gauge', 'Current working set of the container in bytes'],
  ['container_start_time_seconds', 'gauge', 'Start time of the container since unix epoch in seconds'],
];

export function resourceMetrics(s: Summary): string {
  const samples = new Map<string, string[]>(FAMILIES.map(([name]) => [name, []]));
  const add = (name: string, l: Record<string, string>, value: string, time: string) =>
    samples.get(name)!.push(`${name}${Object.keys(l).length ? labels(l) : ''} ${value} ${ms(time)}`);
  add('node_cpu_usage_seconds_total', {}, seconds(s.node.cpu.usageCoreNanoSeconds), s.node.cpu.time);
  add('node_memory_working_set_bytes', {}, String(s.node.memory.workingSetBytes), s.node.memory.time);
  for (const p of s.pods) {
    const pod = { namespace: p.podRef.namespace, pod: p.podRef.name };
    add('pod_cpu_usage_seconds_total', pod, seconds(p.cpu.usageCoreNanoSeconds), p.cpu.time);
    add('pod_memory_working_set_bytes', pod, String(p.memory.workingSetBytes), p.memory.time);
    for (const c of p.containers) {
      const l = { container: c.name, ...pod };
      add('container_cpu_usage_seconds_total', l, seconds(c.cpu.usageCoreNanoSeconds), c.cpu.time);
      add('container_memory_working_set_bytes', l, String(c.memory.workingSetBytes), c.memory.time);
      add('container_start_time_seconds', l, String(ms(c.startTime) / 1000), c.startTime);
    }
  }
  const out: string[] = [];
  for (const [name, type, help] of FAMILIES) out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.get(name)!);
  return `${out.join('\n')}\n`;
}
