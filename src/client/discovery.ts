// Which resources the server serves (built-in and custom), from discovery: what the garbage
// collector and the namespace controller walk. A group whose discovery failed is reported, never
// silently left out: a walk that skipped it would miss objects that still exist.
import type { ApiClient } from './rest-client.js';
import { dynamic, type KubeObject, type ResourceType } from './resources.js';

interface ResourceList {
  groupVersion: string;
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[];
}

export interface Discovery {
  /** Every resource (preferred version of each group) that can be listed, watched and deleted. */
  resources: ResourceType<KubeObject>[];
  /** Group-versions whose resource list could not be read, with why. */
  failed: { groupVersion: string; error: string }[];
}

/** client-go's ErrGroupDiscoveryFailed, in its words. */
export function discoveryFailure(failed: Discovery['failed']): string {
  return `unable to retrieve the complete list of server APIs: ${failed.map((f) => `${f.groupVersion}: ${f.error}`).join(', ')}`;
}

export async function deletableResources(api: ApiClient): Promise<Discovery> {
  const groups = await api.getJson<{ groups: { preferredVersion: { groupVersion: string } }[] }>('/apis');
  const gvs = ['v1', ...groups.groups.map((g) => g.preferredVersion.groupVersion)];
  const lists = await Promise.all(
    gvs.map((gv) =>
      api.getJson<ResourceList>(gv === 'v1' ? '/api/v1' : `/apis/${gv}`).then(
        (list) => ({ gv, list }),
        (err: Error) => ({ gv, error: err.message }),
      ),
    ),
  );
  const out: Discovery = { resources: [], failed: [] };
  for (const r of lists) {
    if (!('list' in r)) {
      out.failed.push({ groupVersion: r.gv, error: r.error });
      continue;
    }
    const [group, version] = r.list.groupVersion.includes('/') ? r.list.groupVersion.split('/') : ['', r.list.groupVersion];
    for (const res of r.list.resources) {
      if (res.name.includes('/') || !['list', 'watch', 'delete'].every((v) => res.verbs.includes(v))) continue;
      out.resources.push(dynamic(group!, version!, res.name, res.kind, res.namespaced));
    }
  }
  return out;
}
