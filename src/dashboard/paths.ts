// API paths of the lists the views show, in one namespace or in all of them.

/** `/api/v1/pods` or `/api/v1/namespaces/<ns>/pods` (and the same under `/apis/<group>/<version>`). */
export function listPath(groupVersion: string, plural: string, namespace: string, query: Record<string, string> = {}): string {
  const base = groupVersion.includes('/') ? `/apis/${groupVersion}` : `/api/${groupVersion}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v)).toString();
  return `${base}${ns}/${plural}${q ? `?${q}` : ''}`;
}

/** The path of one object. */
export function objectPath(groupVersion: string, plural: string, namespace: string | undefined, name: string): string {
  return `${listPath(groupVersion, plural, namespace ?? '')}/${encodeURIComponent(name)}`;
}

/** A label selector's matchLabels as the labelSelector query parameter (`a=b,c=d`). */
export function selectorQuery(selector: { matchLabels?: Record<string, string> } | undefined): string {
  return Object.entries(selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
