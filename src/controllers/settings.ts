// Tunables of the controllers, set K3s-style with --kube-controller-manager-arg NAME=VALUE using
// kube-controller-manager's own names and Go durations ("40s", "1m30s", "500ms").
export interface ControllerTimings {
  /** A node whose lease has not been renewed for this long is unreachable. */
  nodeMonitorGracePeriodMs: number;
  /** How often node health is checked. */
  nodeMonitorPeriodMs: number;
  /** How long the certificates csrsigning issues live (a request may ask for less). */
  clusterSigningDurationMs: number;
}

export const DEFAULT_TIMINGS: ControllerTimings = {
  nodeMonitorGracePeriodMs: 40_000,
  nodeMonitorPeriodMs: 5_000,
  clusterSigningDurationMs: 365 * 24 * 3_600_000,
};

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) throw new Error(`invalid duration "${text}" (use e.g. 40s, 1m30s, 500ms)`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0);
}

const ARGS: Record<string, keyof ControllerTimings> = {
  'node-monitor-grace-period': 'nodeMonitorGracePeriodMs',
  'node-monitor-period': 'nodeMonitorPeriodMs',
  'cluster-signing-duration': 'clusterSigningDurationMs',
};

/** Timings from `name=value` arguments; an unknown name or bad value is an error naming it. */
export function timingsFromArgs(args: string[]): ControllerTimings {
  const out = { ...DEFAULT_TIMINGS };
  for (const arg of args) {
    const [name, value] = arg.replace(/^--/, '').split('=', 2);
    const key = ARGS[name!];
    if (!key || value === undefined)
      throw new Error(
        `unsupported --kube-controller-manager-arg "${arg}": supported are ${Object.keys(ARGS)
          .map((a) => `${a}=<duration>`)
          .join(', ')}`,
      );
    out[key] = parseDuration(value);
  }
  return out;
}
