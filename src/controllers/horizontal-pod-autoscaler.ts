// HorizontalPodAutoscaler (autoscaling/v2): every sync period, reads the target's /scale, the
// usage of the pods its selector matches (metrics.k8s.io) and their requests, computes the count
// each Resource metric asks for (hpa/replica-calculator.ts), takes the highest, holds it to the
// behaviour's stabilization windows and rate policies (hpa/behavior.ts) and to min/max replicas,
// and writes it through the target's /scale subresource, with upstream's status, conditions
// (AbleToScale, ScalingActive, ScalingLimited) and events. Only Resource metrics are computed;
// other metric types make ScalingActive False.
import type { HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, MetricStatus } from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { keyOf, splitKey, type Informer } from '../client/informer.js';
import type { ApiClient, ResourceClient } from '../client/rest-client.js';
import { pods, type ResourceType, withType, type Writable } from '../client/resources.js';
import { onAbort } from '../k8s/abort.js';
import { realClock, type Clock } from '../k8s/clock.js';
import { parseQuantity } from '../k8s/quantity.js';
import { matches, parseLabelSelector } from '../k8s/selectors.js';
import { nowTimestamp } from '../k8s/time.js';
import { limitRate, type ScaleEvent, stabilize, type TimedRecommendation, withDefaults } from './hpa/behavior.js';
import { metricsApiSource, type MetricsSource } from './hpa/metrics-source.js';
import { MetricsError, type PodSample, replicasFor, type ResourceTarget } from './hpa/replica-calculator.js';
import { QueueController, type ControllerContext } from './runner.js';

type HPA = Writable<HorizontalPodAutoscaler>;
type PodT = Writable<Pod>;

export const horizontalPodAutoscalers: ResourceType<HPA> = {
  group: 'autoscaling',
  version: 'v2',
  resource: 'horizontalpodautoscalers',
  kind: 'HorizontalPodAutoscaler',
  namespaced: true,
};

/** --horizontal-pod-autoscaler-sync-period's default. */
export const SYNC_PERIOD_MS = 15_000;
const CONTROLLER = 'horizontal-pod-autoscaler';

interface Scale {
  apiVersion?: string;
  kind?: string;
  metadata: Record<string, unknown>;
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

/** What one Resource metric asks for, and how it is named in events and conditions. */
interface Proposal {
  replicas: number;
  name: string;
  status: MetricStatus;
}

class ScalingError extends Error {
  constructor(
    readonly condition: 'AbleToScale' | 'ScalingActive',
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const formatQuantity = (v: number) => (Number.isInteger(v) ? String(v) : `${Math.round(v * 1000)}m`);

function podSample(pod: PodT, resource: string, usage: Map<string, number> | undefined): PodSample {
  let request: number | undefined = 0;
  for (const c of pod.spec?.containers ?? []) {
    const q = c.resources?.requests?.[resource];
    request = q === undefined || request === undefined ? undefined : request + parseQuantity(q);
  }
  return {
    name: pod.metadata!.name!,
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    ignored: !!pod.metadata?.deletionTimestamp || pod.status?.phase === 'Failed',
    request,
    usage: usage?.get(resource),
  };
}

function setCondition(
  conditions: HorizontalPodAutoscalerCondition[],
  type: string,
  status: 'True' | 'False',
  reason: string,
  message: string,
  now: string,
): void {
  const old = conditions.find((c) => c.type === type);
  const next = { type, status, reason, message, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now };
  if (old) Object.assign(old, next);
  else conditions.push(next);
}

export class HorizontalPodAutoscalerController extends QueueController {
  readonly name = CONTROLLER;
  private readonly hpas: Informer<HPA>;
  private readonly pods: Informer<PodT>;
  private readonly api: ApiClient;
  private readonly client: ResourceClient<HPA>;
  private readonly recorder: EventRecorder;
  private readonly metrics: MetricsSource;
  /** Per autoscaler: its recent recommendations and rescales, kept in memory as upstream does. */
  private readonly recommendations = new Map<string, TimedRecommendation[]>();
  private readonly scaleEvents = new Map<string, ScaleEvent[]>();
  private readonly resources = new Map<string, string>();
  private readonly scheduled = new Set<string>();
  private readonly stopped = new AbortController();

  constructor(
    ctx: ControllerContext,
    opts: { clock?: Clock; metrics?: MetricsSource; syncPeriodMs?: number } = {},
    private readonly clock: Clock = opts.clock ?? realClock,
    private readonly syncPeriodMs = opts.syncPeriodMs ?? SYNC_PERIOD_MS,
  ) {
    super();
    this.api = ctx.client(CONTROLLER);
    this.client = this.api.resource(horizontalPodAutoscalers);
    this.recorder = ctx.recorder(CONTROLLER);
    this.metrics = opts.metrics ?? metricsApiSource(this.api);
    // Our own status writes are no reason to compute again: only new autoscalers and spec changes.
    this.hpas = ctx.informers.for(horizontalPodAutoscalers).on({
      add: (h) => this.queue.add(keyOf(h)),
      update: (old, h) => {
        if (old.metadata?.generation !== h.metadata?.generation) this.queue.add(keyOf(h));
      },
      delete: (h) => this.queue.add(keyOf(h)),
    });
    this.pods = ctx.informers.for(pods);
  }

  override async run(signal: AbortSignal): Promise<void> {
    onAbort(signal, () => this.stopped.abort());
    await super.run(signal);
  }

  /** The next sync of `key`, one period on (one pending at a time, however often it is queued). */
  private resync(key: string): void {
    if (this.scheduled.has(key) || this.stopped.signal.aborted) return;
    this.scheduled.add(key);
    void this.clock.sleep(this.syncPeriodMs, this.stopped.signal).then(() => {
      this.scheduled.delete(key);
      if (!this.stopped.signal.aborted) this.queue.add(key);
    });
  }

  protected async reconcile(key: string): Promise<void> {
    const hpa = this.hpas.get(key);
    if (!hpa || hpa.metadata?.deletionTimestamp) {
      this.recommendations.delete(key);
      this.scaleEvents.delete(key);
      return;
    }
    try {
      await this.sync(key, hpa);
    } finally {
      this.resync(key);
    }
  }

  /** The target's plural, from discovery of its group/version. */
  private async resourceOf(apiVersion: string, kind: string): Promise<string> {
    const cacheKey = `${apiVersion}/${kind}`;
    const known = this.resources.get(cacheKey);
    if (known) return known;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const list = await this.api.getJson<{ resources: { name: string; kind: string }[] }>(path);
    const found = list.resources.find((r) => r.kind === kind && !r.name.includes('/'));
    if (!found) throw new Error(`no resource of kind ${kind} in ${apiVersion}`);
    this.resources.set(cacheKey, found.name);
    return found.name;
  }

  private async scaleClient(hpa: HPA): Promise<{ path: string; client: ResourceClient<Scale & { metadata: object }> }> {
    const ref = hpa.spec!.scaleTargetRef;
    const apiVersion = ref.apiVersion ?? 'v1';
    const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
    const resource = await this.resourceOf(apiVersion, ref.kind);
    const type = { group, version, resource, kind: ref.kind, namespaced: true };
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    return {
      path: `${base}/namespaces/${encodeURIComponent(hpa.metadata!.namespace!)}/${resource}/${encodeURIComponent(ref.name)}/scale`,
      client: this.api.resource(type),
    };
  }

  private async sync(key: string, original: HPA): Promise<void> {
    const hpa = structuredClone(original);
    const [namespace] = splitKey(key);
    const now = this.clock.now();
    const stamp = nowTimestamp(new Date(now));
    const spec = hpa.spec!;
    const status = (hpa.status = { ...hpa.status, conditions: [...(hpa.status?.conditions ?? [])] } as NonNullable<HPA['status']>);
    const conditions = status.conditions!;
    const minReplicas = spec.minReplicas ?? 1;

    let scale: Scale;
    let scaler: Awaited<ReturnType<typeof this.scaleClient>>;
    try {
      scaler = await this.scaleClient(hpa);
      scale = await this.api.getJson<Scale>(scaler.path);
    } catch (err) {
      const message = `the HPA controller was unable to get the target's current scale: ${(err as Error).message}`;
      this.recorder.event(withType(horizontalPodAutoscalers, hpa), 'Warning', 'FailedGetScale', (err as Error).message);
      setCondition(conditions, 'AbleToScale', 'False', 'FailedGetScale', message, stamp);
      return this.writeStatus(original, hpa);
    }
    setCondition(
      conditions,
      'AbleToScale',
      'True',
      'SucceededGetScale',
      "the HPA controller was able to get the target's current scale",
      stamp,
    );
    const current = scale.spec?.replicas ?? 0;
    status.currentReplicas = scale.status?.replicas ?? 0;

    let desired: number;
    let reason = '';
    if (current === 0 && minReplicas !== 0) {
      desired = 0;
      setCondition(
        conditions,
        'ScalingActive',
        'False',
        'ScalingDisabled',
        'scaling is disabled since the replica count of the target is zero',
        stamp,
      );
    } else if (current > spec.maxReplicas) {
      desired = spec.maxReplicas;
      reason = 'Current number of replicas above Spec.MaxReplicas';
    } else if (current < minReplicas) {
      desired = minReplicas;
      reason = 'Current number of replicas below Spec.MinReplicas';
    } else {
      let proposal: Proposal;
      try {
        proposal = await this.proposal(hpa, namespace!, scale, current, status);
      } catch (err) {
        const e = err instanceof ScalingError ? err : new ScalingError('ScalingActive', 'FailedGetResourceMetric', (err as Error).message);
        this.recorder.event(withType(horizontalPodAutoscalers, hpa), 'Warning', e.reason, e.message);
        setCondition(conditions, e.condition, 'False', e.reason, e.message, stamp);
        return this.writeStatus(original, hpa);
      }
      setCondition(
        conditions,
        'ScalingActive',
        'True',
        'ValidMetricFound',
        `the HPA was able to successfully calculate a replica count from ${proposal.name}`,
        stamp,
      );
      const rules = withDefaults(spec.behavior);
      const history = this.recommendations.get(key) ?? [];
      const stabilized = stabilize(current, proposal.replicas, history, rules, now);
      const longest = Math.max(rules.scaleUp.stabilizationWindowSeconds ?? 0, rules.scaleDown.stabilizationWindowSeconds ?? 0) * 1000;
      this.recommendations.set(key, [...history.filter((r) => r.at > now - longest), { at: now, replicas: proposal.replicas }]);
      if (stabilized !== proposal.replicas) {
        const down = stabilized > proposal.replicas;
        setCondition(
          conditions,
          'AbleToScale',
          'True',
          down ? 'ScaleDownStabilized' : 'ScaleUpStabilized',
          down
            ? 'recent recommendations were higher than current one, applying the highest recent recommendation'
            : 'recent recommendations were lower than current one, applying the lowest recent recommendation',
          stamp,
        );
      } else setCondition(conditions, 'AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size', stamp);
      const events = (this.scaleEvents.get(key) ?? []).filter((e) => e.at > now - 30 * 60_000);
      const limited = limitRate(current, stabilized, minReplicas, spec.maxReplicas, events, rules, now);
      setCondition(
        conditions,
        'ScalingLimited',
        limited.replicas === stabilized ? 'False' : 'True',
        limited.reason,
        limited.message,
        stamp,
      );
      desired = limited.replicas;
      if (desired > current) reason = `${proposal.name} above target`;
      else if (desired < current) reason = 'All metrics below target';
    }

    if (desired !== current) {
      try {
        await scaler.client.subresource('PUT', namespace, spec.scaleTargetRef.name, 'scale', {
          ...scale,
          spec: { ...scale.spec, replicas: desired },
        });
      } catch (err) {
        const message = `the HPA controller was unable to update the target scale: ${(err as Error).message}`;
        this.recorder.event(
          withType(horizontalPodAutoscalers, hpa),
          'Warning',
          'FailedRescale',
          `New size: ${desired}; reason: ${reason}; error: ${(err as Error).message}`,
        );
        setCondition(conditions, 'AbleToScale', 'False', 'FailedUpdateScale', message, stamp);
        return this.writeStatus(original, hpa);
      }
      setCondition(
        conditions,
        'AbleToScale',
        'True',
        'SucceededRescale',
        `the HPA controller was able to update the target scale to ${desired}`,
        stamp,
      );
      this.scaleEvents.set(key, [...(this.scaleEvents.get(key) ?? []), { at: now, change: desired - current }]);
      this.recorder.event(
        withType(horizontalPodAutoscalers, hpa),
        'Normal',
        'SuccessfulRescale',
        `New size: ${desired}; reason: ${reason}`,
      );
      status.lastScaleTime = stamp;
    }
    status.desiredReplicas = desired;
    await this.writeStatus(original, hpa);
  }

  /** The highest count the metrics ask for (the default metric: cpu at 80% of requests). */
  private async proposal(
    hpa: HPA,
    namespace: string,
    scale: Scale,
    current: number,
    status: NonNullable<HPA['status']>,
  ): Promise<Proposal> {
    const selectorText = scale.status?.selector;
    if (!selectorText) throw new ScalingError('ScalingActive', 'InvalidSelector', "the HPA target's scale is missing a selector");
    const selector = parseLabelSelector(selectorText);
    const podList = this.pods.list(namespace).filter((p) => matches(selector, p.metadata?.labels));
    const specs = hpa.spec!.metrics?.length
      ? hpa.spec!.metrics
      : [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
    const usage = await this.metrics.podUsage(namespace, selectorText).catch((err: Error) => {
      throw new ScalingError('ScalingActive', 'FailedGetResourceMetric', `unable to get metrics for resource cpu: ${err.message}`);
    });
    const proposals: Proposal[] = [];
    const currentMetrics: MetricStatus[] = [];
    for (const m of specs) {
      if (m.type !== 'Resource' || !m.resource)
        throw new ScalingError(
          'ScalingActive',
          'InvalidMetricSourceType',
          `the HPA controller here only computes Resource metrics, not ${m.type}`,
        );
      const { name: resource, target } = m.resource;
      const t: ResourceTarget | undefined =
        target.type === 'Utilization' && target.averageUtilization !== undefined
          ? { type: 'Utilization', averageUtilization: target.averageUtilization }
          : target.type === 'AverageValue' && target.averageValue !== undefined
            ? { type: 'AverageValue', averageValue: parseQuantity(target.averageValue) }
            : undefined;
      if (!t) throw new ScalingError('ScalingActive', 'InvalidMetricSourceType', `invalid target for resource ${resource}`);
      try {
        const samples = podList.map((p) => podSample(p, resource, usage.get(p.metadata!.name!)));
        if (samples.length === 0) throw new MetricsError("no pods match the target's selector");
        const r = replicasFor(current, samples, t, resource);
        const name = t.type === 'Utilization' ? `${resource} resource utilization (percentage of request)` : `${resource} resource`;
        const metricStatus: MetricStatus = {
          type: 'Resource',
          resource: {
            name: resource,
            current: {
              averageValue: formatQuantity(r.averageValue),
              ...(r.averageUtilization !== undefined ? { averageUtilization: r.averageUtilization } : {}),
            },
          },
        };
        proposals.push({ replicas: r.replicas, name, status: metricStatus });
        currentMetrics.push(metricStatus);
      } catch (err) {
        throw new ScalingError(
          'ScalingActive',
          'FailedGetResourceMetric',
          `the HPA was unable to compute the replica count: failed to get ${resource} utilization: ${(err as Error).message}`,
        );
      }
    }
    status.currentMetrics = currentMetrics;
    return proposals.reduce((a, b) => (b.replicas > a.replicas ? b : a));
  }

  private async writeStatus(original: HPA, hpa: HPA): Promise<void> {
    hpa.status!.observedGeneration = hpa.metadata?.generation;
    if (JSON.stringify(original.status) === JSON.stringify(hpa.status)) return;
    await this.client.updateStatus(hpa);
  }
}
