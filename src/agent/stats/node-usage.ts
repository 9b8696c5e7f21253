// The node's own CPU and memory, read from /proc, which is the same on cgroup v1 and v2 hosts
// (cAdvisor reads the root cgroup; the totals agree on a node whose work all runs in cgroups).
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/stat's counters on every Linux architecture Skiff runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time used by every core, in core-nanoseconds, from /proc/stat's `cpu` line (all but idle and iowait). */
export function parseProcStatCpu(text: string): number {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no cpu line in /proc/stat');
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const ticks = user + nice + system + irq + softirq + steal;
  return (ticks * 1e9) / CLOCK_TICKS_PER_SECOND;
}

export interface NodeMemory {
  availableBytes: number;
  usageBytes: number;
  /** What the kubelet calls the working set: memory in use that cannot simply be dropped. */
  workingSetBytes: number;
}

/** Memory from /proc/meminfo (kB values): the working set is total less available, as free(1)'s "used". */
export function parseMeminfo(text: string): NodeMemory {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) kb.set(m[1]!, Number(m[2]) * 1024);
  }
  const total = kb.get('MemTotal') ?? 0;
  const available = kb.get('MemAvailable') ?? kb.get('MemFree') ?? 0;
  const free = kb.get('MemFree') ?? 0;
  return { availableBytes: available, usageBytes: total - free, workingSetBytes: total - available };
}

export interface NodeReading {
  usageCoreNanoSeconds: number;
  memory: NodeMemory;
}

// Read synchronously: /proc's files are made in memory when read and never wait for a disk (~20 µs
// here), where an asynchronous read goes through libuv's pool in several steps for a file of size 0.
export async function readNodeUsage(procDir = '/proc'): Promise<NodeReading> {
  const [stat, meminfo] = [readFileSync(`${procDir}/stat`, 'utf8'), readFileSync(`${procDir}/meminfo`, 'utf8')];
  return { usageCoreNanoSeconds: parseProcStatCpu(stat), memory: parseMeminfo(meminfo) };
}
