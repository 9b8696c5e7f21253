// The replica count one resource metric asks for, as upstream's replica calculator: the ratio of
// the pods' usage to the target, scaled to the pods that have metrics, nothing done within a 10%
// tolerance. Pods without metrics count as at the target when scaling down and as idle when
// scaling up; pods not Ready are left out, and count as idle when scaling up. (Upstream also
// treats a pod as not yet ready for CPU during its first minutes; here readiness alone decides.)

export const TOLERANCE = 0.1;

/** One pod the target's selector matches. */
export interface PodSample {
  name: string;
  ready: boolean;
  /** Being deleted or Failed: not counted at all. */
  ignored?: boolean;
  /** The pod's request for the resource (sum of its containers), absent when a container has none. */
  request?: number;
  /** Usage from the metrics API, absent when it has none for the pod. */
  usage?: number;
}

/** Utilization is a percentage of the pods' requests; AverageValue a quantity per pod. */
export type ResourceTarget = { type: 'Utilization'; averageUtilization: number } | { type: 'AverageValue'; averageValue: number };

export interface Recommendation {
  replicas: number;
  /** What is reported in status.currentMetrics: from the ready pods with metrics. */
  averageUtilization?: number;
  averageValue: number;
}

export class MetricsError extends Error {}

function ratioOf(pods: PodSample[], target: ResourceTarget): number {
  const used = pods.reduce((n, p) => n + (p.usage ?? 0), 0);
  if (target.type === 'AverageValue') return used / pods.length / target.averageValue;
  const requested = pods.reduce((n, p) => n + (p.request ?? 0), 0);
  if (requested === 0) throw new MetricsError('no requests to compare usage with');
  return (used * 100) / requested / target.averageUtilization;
}

export function replicasFor(currentReplicas: number, pods: PodSample[], target: ResourceTarget, resource: string): Recommendation {
  const counted = pods.filter((p) => !p.ignored);
  if (target.type === 'Utilization') {
    const missing = counted.find((p) => p.request === undefined);
    if (missing) throw new MetricsError(`missing request for ${resource} in container of pod ${missing.name}`);
  }
  const measured = counted.filter((p) => p.ready && p.usage !== undefined);
  if (measured.length === 0) throw new MetricsError(`did not receive metrics for targeted pods (pods might be unready)`);
  const ratio = ratioOf(measured, target);
  const used = measured.reduce((n, p) => n + p.usage!, 0);
  const requested = measured.reduce((n, p) => n + (p.request ?? 0), 0);
  const status = {
    averageValue: used / measured.length,
    ...(target.type === 'Utilization' ? { averageUtilization: Math.round((used * 100) / requested) } : {}),
  };
  const unready = counted.filter((p) => !p.ready);
  const missing = counted.filter((p) => p.ready && p.usage === undefined);
  const rebalanceUnready = unready.length > 0 && ratio > 1;
  if (!rebalanceUnready && missing.length === 0) {
    if (Math.abs(1 - ratio) <= TOLERANCE) return { replicas: currentReplicas, ...status };
    return { replicas: Math.ceil(ratio * measured.length), ...status };
  }
  // Fill in the pods without a usable metric in the direction that moves the least.
  const atTarget = (p: PodSample) =>
    target.type === 'AverageValue' ? target.averageValue : ((p.request ?? 0) * target.averageUtilization) / 100;
  const filled = [
    ...measured,
    ...missing.map((p) => ({ ...p, usage: ratio < 1 ? atTarget(p) : 0 })),
    ...(rebalanceUnready ? unready.map((p) => ({ ...p, usage: 0 })) : []),
  ];
  const newRatio = ratioOf(filled, target);
  if (Math.abs(1 - newRatio) <= TOLERANCE || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1))
    return { replicas: currentReplicas, ...status };
  const replicas = Math.ceil(newRatio * filled.length);
  // Filling in must not turn a scale in one direction into one in the other.
  if ((newRatio < 1 && replicas > currentReplicas) || (newRatio > 1 && replicas < currentReplicas))
    return { replicas: currentReplicas, ...status };
  return { replicas, ...status };
}
