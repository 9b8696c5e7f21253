// Deployment arithmetic as Kubernetes defines it: the pod-template-hash, which ReplicaSet is the new
// one, maxSurge/maxUnavailable from ints or percentages, revisions, and status conditions.
import type { DeploymentCondition } from 'kubernetes-types/apps/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Writable } from '../client/resources.js';
import { nowTimestamp } from '../k8s/time.js';
import { SAFE_ALPHABET } from '../k8s/names.js';

export type D = Writable<Deployment>;
export type RS = Writable<ReplicaSet>;

export const HASH_LABEL = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';

/**
 * JSON with sorted keys and without nulls, so equal templates compare (and hash) equal however they
 * were written (kubectl's rollback sends `creationTimestamp: null`).
 */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined && (value as Record<string, unknown>)[k] !== null)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** FNV-1a of the template (and collision count), spelled in the vowel-free alphabet Kubernetes uses. */
export function templateHash(template: unknown, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const text = canonical(template) + (collisionCount ? String(collisionCount) : '');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

function withoutHash(template: unknown): unknown {
  const t = structuredClone(template) as { metadata?: { labels?: Record<string, string> } };
  if (t?.metadata?.labels) {
    delete t.metadata.labels[HASH_LABEL];
    if (!Object.keys(t.metadata.labels).length) delete t.metadata.labels;
  }
  return t;
}

export const sameTemplate = (a: unknown, b: unknown) => canonical(withoutHash(a)) === canonical(withoutHash(b));

/** An int-or-percent of replicas; surge rounds up, unavailability down, as Kubernetes does. */
function scaled(value: number | string | undefined, fallback: string, total: number, roundUp: boolean): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export function surgeAndUnavailable(d: D): [surge: number, unavailable: number] {
  const replicas = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate;
  const surge = scaled(ru?.maxSurge, '25%', replicas, true);
  const unavailable = scaled(ru?.maxUnavailable, '25%', replicas, false);
  // Both zero would never make progress: allow one unavailable.
  return surge === 0 && unavailable === 0 ? [0, 1] : [surge, unavailable];
}

export const revisionOf = (rs: RS) => Number(rs.metadata?.annotations?.[REVISION] ?? 0) || 0;

/**
 * Sets a condition; lastTransitionTime moves only when the status does. `touch` refreshes
 * lastUpdateTime of an unchanged condition (progress was made).
 */
export function setCondition(
  conditions: Writable<DeploymentCondition>[],
  type: string,
  status: string,
  reason: string,
  message: string,
  touch = false,
): Writable<DeploymentCondition>[] {
  const old = conditions.find((c) => c.type === type);
  if (!touch && old && old.status === status && old.reason === reason && old.message === message) return conditions;
  const t = nowTimestamp();
  const next = {
    type,
    status,
    reason,
    message,
    lastUpdateTime: t,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : t,
  };
  return [...conditions.filter((c) => c.type !== type), next];
}
