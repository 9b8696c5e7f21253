// CPU usage as a rate: the kernel and the runtime only count cumulative CPU time, and a rate is
// the difference of two samples over the time between them (the kubelet's usageNanoCores).

/** One reading of a cumulative CPU counter. */
export interface CpuSample {
  /** When it was read, nanoseconds since the epoch. */
  timeNs: number;
  /** CPU time used so far, in core-nanoseconds. */
  usageCoreNanoSeconds: number;
}

/** Cores in use, as nano-cores, between two samples; undefined when they cannot give a rate. */
export function nanoCores(older: CpuSample | undefined, newer: CpuSample): number | undefined {
  if (!older) return undefined;
  const elapsed = newer.timeNs - older.timeNs;
  const used = newer.usageCoreNanoSeconds - older.usageCoreNanoSeconds;
  // A counter that went back is a restarted container: no rate until the next sample.
  if (elapsed <= 0 || used < 0) return undefined;
  return Math.round((used / elapsed) * 1e9);
}

/**
 * Remembers the sample before the newest of each counter (a node, a container) and gives the rate
 * between them. Samples closer together than `minIntervalNs` keep the previous rate rather than
 * measure noise; counters not seen in a round are forgotten.
 */
export class CpuRates {
  private readonly last = new Map<string, { sample: CpuSample; rate: number | undefined }>();

  constructor(private readonly minIntervalNs = 1e9) {}

  /** The rate for `key` after this sample. */
  observe(key: string, sample: CpuSample): number | undefined {
    const prev = this.last.get(key);
    if (prev && sample.timeNs - prev.sample.timeNs < this.minIntervalNs && sample.usageCoreNanoSeconds >= prev.sample.usageCoreNanoSeconds)
      return prev.rate;
    const rate = nanoCores(prev?.sample, sample);
    this.last.set(key, { sample, rate });
    return rate;
  }

  /** Forgets every counter not in `seen` (containers that are gone). */
  retain(seen: Set<string>): void {
    for (const key of this.last.keys()) if (!seen.has(key)) this.last.delete(key);
  }
}
