// The node's usage for /stats/summary: the node from /proc, containers from containerd's CRI
// ListContainerStats, CPU rates from this provider's own previous readings (the runtime's
// cumulative counters). A reading is taken at start, so the first scrape already has rates.
import type { CriClient, CriMessage } from '../../cri/client.js';
import { criEnum } from '../../cri/client.js';
import { CpuRates } from './cpu-rate.js';
import { readNodeUsage, type NodeReading } from './node-usage.js';
import type { Summary } from '../../k8s/kubelet-stats.js';
import { podStats, type ContainerReading } from './summary.js';

const num = (v: unknown) => Number((v as { value?: number } | null | undefined)?.value ?? 0);

export interface StatsProviderOptions {
  nodeName: string;
  cri: Pick<CriClient, 'listContainers' | 'listContainerStats'>;
  readNode?: () => Promise<NodeReading>;
  /** Nanoseconds since the epoch. */
  nowNs?: () => number;
  /** When the node booted, for the node's startTime. */
  bootTime?: Date;
}

export class StatsProvider {
  private readonly rates = new CpuRates();
  private readonly nowNs: () => number;
  private readonly readNode: () => Promise<NodeReading>;
  private readonly bootTime: Date;

  constructor(private readonly o: StatsProviderOptions) {
    this.nowNs = o.nowNs ?? (() => Date.now() * 1e6);
    this.readNode = o.readNode ?? (() => readNodeUsage());
    this.bootTime = o.bootTime ?? new Date(Date.now() - Math.round(process.uptime() * 1000));
  }

  async summary(): Promise<Summary> {
    const [node, containers] = await Promise.all([this.nodeStats(), this.containerReadings()]);
    return { node, pods: podStats(containers) };
  }

  private async nodeStats(): Promise<Summary['node']> {
    const reading = await this.readNode();
    const timeNs = this.nowNs();
    const time = new Date(timeNs / 1e6).toISOString();
    const usageNanoCores = this.rates.observe('node', { timeNs, usageCoreNanoSeconds: reading.usageCoreNanoSeconds });
    return {
      nodeName: this.o.nodeName,
      startTime: this.bootTime.toISOString(),
      cpu: { time, usageCoreNanoSeconds: reading.usageCoreNanoSeconds, ...(usageNanoCores !== undefined ? { usageNanoCores } : {}) },
      memory: { time, ...reading.memory },
    };
  }

  /** Running containers only: exited ones keep their last counters in containerd. */
  private async containerReadings(): Promise<ContainerReading[]> {
    const running = criEnum('ContainerState', 'CONTAINER_RUNNING');
    const containers = await this.o.cri.listContainers({ state: { state: running } });
    // A node without running containers (an idle edge box) is not asked for their stats every 10 s.
    const stats = containers.length ? await this.o.cri.listContainerStats() : [];
    const created = new Map(containers.map((c) => [c.id, Number(c.createdAt)]));
    const seen = new Set<string>(['node']);
    const readings: ContainerReading[] = [];
    for (const s of stats as CriMessage[]) {
      const attributes = s.attributes as { id: string; labels?: Record<string, string> } | undefined;
      const createdAtNs = attributes && created.get(attributes.id);
      if (!attributes || createdAtNs === undefined) continue;
      const cpu = s.cpu as { timestamp?: number; usageCoreNanoSeconds?: unknown } | null;
      const memory = s.memory as { timestamp?: number; workingSetBytes?: unknown; usageBytes?: unknown; rssBytes?: unknown } | null;
      const cpuNs = Number(cpu?.timestamp) || this.nowNs();
      const usageCoreNanoSeconds = num(cpu?.usageCoreNanoSeconds);
      seen.add(attributes.id);
      const usageNanoCores = this.rates.observe(attributes.id, { timeNs: cpuNs, usageCoreNanoSeconds });
      readings.push({
        labels: attributes.labels ?? {},
        createdAtNs,
        cpu: {
          time: new Date(cpuNs / 1e6).toISOString(),
          usageCoreNanoSeconds,
          ...(usageNanoCores !== undefined ? { usageNanoCores } : {}),
        },
        memory: {
          time: new Date((Number(memory?.timestamp) || cpuNs) / 1e6).toISOString(),
          workingSetBytes: num(memory?.workingSetBytes),
          usageBytes: num(memory?.usageBytes),
          rssBytes: num(memory?.rssBytes),
        },
      });
    }
    this.rates.retain(seen);
    return readings;
  }
}
