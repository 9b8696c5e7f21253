// Pod Security levels and versions, and a namespace's policy as its pod-security.kubernetes.io
// labels say it, with upstream's parsing rules: a bad enforce label means restricted (fail closed),
// a bad audit or warn label privileged (fail open), a bad version latest; each bad label is an error.
import type { FieldError } from '../../../k8s/errors.js';
import { KUBERNETES_VERSION } from '../../../k8s/version.js';

export type Level = 'privileged' | 'baseline' | 'restricted';
export const LEVELS: readonly Level[] = ['privileged', 'baseline', 'restricted'];

/** A policy version: a minor of v1, or `latest` (undefined minor). */
export interface LevelVersion {
  level: Level;
  /** The minor of v1.<minor>; undefined for `latest`. */
  minor?: number;
}

export interface Policy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

export const LABEL_PREFIX = 'pod-security.kubernetes.io/';
export type Mode = 'enforce' | 'audit' | 'warn';
export const MODES: readonly Mode[] = ['enforce', 'audit', 'warn'];

/** The newest policy this server knows: `latest` and any later version evaluate as this one. */
export const SERVER_MINOR = Number(KUBERNETES_VERSION.minor);

export const PRIVILEGED: LevelVersion = { level: 'privileged' };
export const DEFAULT_POLICY: Policy = { enforce: PRIVILEGED, audit: PRIVILEGED, warn: PRIVILEGED };

export function levelVersionString(lv: LevelVersion): string {
  return `${lv.level}:${lv.minor === undefined ? 'latest' : `v1.${lv.minor}`}`;
}

export const sameLevelVersion = (a: LevelVersion, b: LevelVersion) => a.level === b.level && a.minor === b.minor;

/** -1, 0 or 1 as `a` is less strict than, as strict as, or stricter than `b`. */
export function compareLevels(a: Level, b: Level): number {
  return Math.sign(LEVELS.indexOf(a) - LEVELS.indexOf(b));
}

const VERSION = /^v1\.(0|[1-9][0-9]*)$/;

function parseLevel(value: string): Level | undefined {
  return (LEVELS as readonly string[]).includes(value) ? (value as Level) : undefined;
}

/** `latest` → undefined minor; `v1.N` → N; anything else → null. */
function parseVersion(value: string): number | undefined | null {
  if (value === 'latest') return undefined;
  const m = VERSION.exec(value);
  if (!m) return null;
  const minor = Number(m[1]);
  return Number.isSafeInteger(minor) ? minor : null;
}

function labelError(label: string, value: string, why: string): FieldError {
  return { field: `metadata.labels[${label}]`, type: 'FieldValueInvalid', detail: `Invalid value: ${JSON.stringify(value)}: ${why}` };
}

/**
 * The policy a namespace's labels ask for, over `defaults` (the cluster's). Always a usable policy;
 * `errors` lists the labels that did not parse, in upstream's words.
 */
export function policyFromLabels(
  labels: Record<string, unknown> | undefined,
  defaults: Policy = DEFAULT_POLICY,
): {
  policy: Policy;
  errors: FieldError[];
} {
  const policy: Policy = { enforce: { ...defaults.enforce }, audit: { ...defaults.audit }, warn: { ...defaults.warn } };
  const errors: FieldError[] = [];
  if (!labels || typeof labels !== 'object') return { policy, errors };
  for (const mode of MODES) {
    const levelLabel = `${LABEL_PREFIX}${mode}`;
    const level = labels[levelLabel];
    if (level !== undefined) {
      const parsed = typeof level === 'string' ? parseLevel(level) : undefined;
      if (parsed) policy[mode].level = parsed;
      else {
        // Enforce fails closed, audit and warn fail open.
        policy[mode].level = mode === 'enforce' ? 'restricted' : 'privileged';
        errors.push(labelError(levelLabel, String(level), `must be one of ${LEVELS.join(', ')}`));
      }
    }
    const versionLabel = `${levelLabel}-version`;
    const version = labels[versionLabel];
    if (version !== undefined) {
      const parsed = typeof version === 'string' ? parseVersion(version) : null;
      if (parsed === null) {
        delete policy[mode].minor;
        errors.push(labelError(versionLabel, String(version), 'must be "latest" or "v1.x"'));
      } else if (parsed === undefined) delete policy[mode].minor;
      else policy[mode].minor = parsed;
    }
  }
  return { policy, errors };
}

/** The version a check table is looked up at: `latest` and future versions are this server's. */
export function effectiveMinor(lv: LevelVersion): number {
  return lv.minor === undefined || lv.minor > SERVER_MINOR ? SERVER_MINOR : lv.minor;
}
