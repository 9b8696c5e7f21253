// Reading a pod spec that may be anything a client sent: every accessor tolerates a missing or
// mistyped field (a check must never throw), and the containers are visited in upstream's order
// (init containers, containers, ephemeral containers).

export type Json = Record<string, unknown>;

export const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** A nested object field: `at(spec, 'securityContext', 'seccompProfile')`. */
export function at(v: unknown, ...path: string[]): Json | undefined {
  let cur = obj(v);
  for (const p of path) cur = obj(cur?.[p]);
  return cur;
}

export interface PodView {
  meta: Json;
  spec: Json;
}

/** Every container of the pod, as objects (anything else in the lists is skipped). */
export function containers(spec: Json): Json[] {
  return [...list(spec.initContainers), ...list(spec.containers), ...list(spec.ephemeralContainers)]
    .map(obj)
    .filter((c): c is Json => c !== undefined);
}

export const containerName = (c: Json) => str(c.name);
export const securityContext = (c: Json) => obj(c.securityContext);
export const podSecurityContext = (spec: Json) => obj(spec.securityContext);
export const annotations = (meta: Json): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(meta.annotations) ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
};
export const isWindows = (spec: Json) => str(obj(spec.os)?.name) === 'windows';

/** Upstream's `joinQuote`: `"a", "b"` (quotes around each, nothing escaped). */
export const joinQuote = (items: string[]) => items.map((s) => `"${s}"`).join(', ');
export const pluralize = (singular: string, plural: string, n: number) => (n === 1 ? singular : plural);
/** A sorted set's list, as Go's sets.String.List(). */
export const sortedSet = (items: Iterable<string>) => [...new Set(items)].sort();
