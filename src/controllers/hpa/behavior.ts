// How far and how fast an autoscaler may move (autoscaling/v2 spec.behavior), as upstream:
// stabilization windows over the recent recommendations (scale down: the highest of the window,
// scale up: the lowest), then the rate policies over the scale events of each policy's period.
import type { HPAScalingRules, HorizontalPodAutoscalerBehavior } from 'kubernetes-types/autoscaling/v2.js';

/** Upstream's defaults: up at once by 100% or 4 pods per 15 s; down after 300 s, by up to 100% per 15 s. */
export const DEFAULT_SCALE_UP: HPAScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
};
export const DEFAULT_SCALE_DOWN: HPAScalingRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

/** Missing fields take the defaults, field by field, as the API's defaulting does. */
export function withDefaults(b: HorizontalPodAutoscalerBehavior | undefined): { scaleUp: HPAScalingRules; scaleDown: HPAScalingRules } {
  const fill = (r: HPAScalingRules | undefined, d: HPAScalingRules): HPAScalingRules => ({
    stabilizationWindowSeconds: r?.stabilizationWindowSeconds ?? d.stabilizationWindowSeconds,
    selectPolicy: r?.selectPolicy ?? d.selectPolicy,
    policies: r?.policies?.length ? r.policies : d.policies,
  });
  return { scaleUp: fill(b?.scaleUp, DEFAULT_SCALE_UP), scaleDown: fill(b?.scaleDown, DEFAULT_SCALE_DOWN) };
}

export interface TimedRecommendation {
  at: number;
  replicas: number;
}
/** A rescale the controller made: `change` replicas (negative: removed) at `at`. */
export interface ScaleEvent {
  at: number;
  change: number;
}

export interface Limited {
  replicas: number;
  /** ScalingLimited's reason and message. */
  reason: string;
  message: string;
}

/**
 * The stabilized recommendation: the current count moved no further up than the lowest
 * recommendation of the scale-up window, and no further down than the highest of the scale-down one.
 */
export function stabilize(
  current: number,
  desired: number,
  history: TimedRecommendation[],
  rules: { scaleUp: HPAScalingRules; scaleDown: HPAScalingRules },
  now: number,
): number {
  let up = desired;
  let down = desired;
  const upSince = now - (rules.scaleUp.stabilizationWindowSeconds ?? 0) * 1000;
  const downSince = now - (rules.scaleDown.stabilizationWindowSeconds ?? 0) * 1000;
  for (const r of history) {
    if (r.at > upSince) up = Math.min(up, r.replicas);
    if (r.at > downSince) down = Math.max(down, r.replicas);
  }
  return Math.min(Math.max(current, up), down);
}

/** The count at the start of a policy's period: the current one less what the events since then changed. */
function periodStart(current: number, events: ScaleEvent[], periodSeconds: number, now: number): number {
  const since = now - periodSeconds * 1000;
  return current - events.filter((e) => e.at > since).reduce((n, e) => n + e.change, 0);
}

function scaleUpLimit(current: number, events: ScaleEvent[], rules: HPAScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const limits = (rules.policies ?? []).map((p) => {
    const start = periodStart(
      current,
      events.filter((e) => e.change > 0),
      p.periodSeconds,
      now,
    );
    return p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
  });
  return rules.selectPolicy === 'Min' ? Math.min(...limits) : Math.max(...limits);
}

function scaleDownLimit(current: number, events: ScaleEvent[], rules: HPAScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const limits = (rules.policies ?? []).map((p) => {
    const start = periodStart(
      current,
      events.filter((e) => e.change < 0),
      p.periodSeconds,
      now,
    );
    return p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
  });
  // Max selects the policy that allows the biggest change: the lowest floor.
  return rules.selectPolicy === 'Min' ? Math.max(...limits) : Math.min(...limits);
}

/** The desired count held to the rate policies and to min/max replicas, with ScalingLimited's reason. */
export function limitRate(
  current: number,
  desired: number,
  minReplicas: number,
  maxReplicas: number,
  events: ScaleEvent[],
  rules: { scaleUp: HPAScalingRules; scaleDown: HPAScalingRules },
  now: number,
): Limited {
  if (desired > current) {
    const limit = Math.max(current, scaleUpLimit(current, events, rules.scaleUp, now));
    const byRate = limit < maxReplicas;
    const allowed = byRate ? limit : maxReplicas;
    if (desired > allowed)
      return byRate
        ? {
            replicas: allowed,
            reason: 'ScaleUpLimit',
            message: 'the desired replica count is increasing faster than the maximum scale rate',
          }
        : { replicas: allowed, reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' };
  } else if (desired < current) {
    const limit = Math.min(current, scaleDownLimit(current, events, rules.scaleDown, now));
    const byRate = limit > minReplicas;
    const allowed = byRate ? limit : minReplicas;
    if (desired < allowed)
      return byRate
        ? {
            replicas: allowed,
            reason: 'ScaleDownLimit',
            message: 'the desired replica count is decreasing faster than the maximum scale rate',
          }
        : { replicas: allowed, reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' };
  }
  return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
}
