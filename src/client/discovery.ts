// Which resources the server serves (built-in and custom), from discovery: what the garbage
// collector and the namespace controller walk.
import type { ApiClient } from './rest-client.js';
import { dynamic, type KubeObject, type ResourceType } from './resources.js';

interface ResourceList {
  groupVersion: string;
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[];
}

/** Every resource (preferred version of each group) that can be listed, watched and deleted. */
export async function deletableResources(api: ApiClient): Promise<ResourceType<KubeObject>[]> {
  const groups = await api.getJson<{ groups: { preferredVersion: { groupVersion: string } }[] }>('/apis');
  const paths = ['/api/v1', ...groups.groups.map((g) => `/apis/${g.preferredVersion.groupVersion}`)];
  const lists = await Promise.all(paths.map((p) => api.getJson<ResourceList>(p).catch(() => undefined)));
  const out: ResourceType<KubeObject>[] = [];
  for (const list of lists) {
    if (!list) continue;
    const [group, version] = list.groupVersion.includes('/') ? list.groupVersion.split('/') : ['', list.groupVersion];
    for (const r of list.resources) {
      if (r.name.includes('/') || !['list', 'watch', 'delete'].every((v) => r.verbs.includes(v))) continue;
      out.push(dynamic(group!, version!, r.name, r.kind, r.namespaced));
    }
  }
  return out;
}
