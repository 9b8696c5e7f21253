// apiVersion + kind → REST resource, from discovery over every served version (a manifest may name
// any version of a group, not only the preferred one). Read again on demand: a CRD applied by a
// manifest serves its kind only once established.
import type { ApiClient } from '../client/rest-client.js';
import { dynamic, type KubeObject, type ResourceType } from '../client/resources.js';

interface ResourceList {
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[];
}

export class KindResolver {
  private kinds?: Promise<Map<string, ResourceType<KubeObject>>>;

  constructor(private readonly api: ApiClient) {}

  /** The resource serving `kind` in `apiVersion`, or undefined when discovery, read again, has none either. */
  async resolve(apiVersion: string, kind: string): Promise<ResourceType<KubeObject> | undefined> {
    const key = `${apiVersion}/${kind}`;
    const cached = this.kinds && (await this.read()).get(key);
    if (cached) return cached;
    this.forget();
    return (await this.read()).get(key);
  }

  /** Drops what discovery said (after new CRDs are established). */
  forget(): void {
    this.kinds = undefined;
  }

  private async read(): Promise<Map<string, ResourceType<KubeObject>>> {
    this.kinds ??= this.discover();
    const kinds = this.kinds;
    try {
      return await kinds;
    } catch (err) {
      if (this.kinds === kinds) this.kinds = undefined; // a failed read is not kept
      throw err;
    }
  }

  private async discover(): Promise<Map<string, ResourceType<KubeObject>>> {
    const groups = await this.api.getJson<{ groups: { versions: { groupVersion: string }[] }[] }>('/apis');
    const gvs = ['v1', ...groups.groups.flatMap((g) => g.versions.map((v) => v.groupVersion))];
    const lists = await Promise.all(gvs.map((gv) => this.api.getJson<ResourceList>(gv === 'v1' ? '/api/v1' : `/apis/${gv}`)));
    const kinds = new Map<string, ResourceType<KubeObject>>();
    gvs.forEach((gv, i) => {
      const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
      for (const r of lists[i]!.resources)
        if (!r.name.includes('/') && r.verbs.includes('patch'))
          kinds.set(`${gv}/${r.kind}`, dynamic(group!, version!, r.name, r.kind, r.namespaced));
    });
    return kinds;
  }
}
