// Where the autoscaler reads pods' usage: the metrics API (metrics.k8s.io, served by the API server
// from the nodes' kubelets), each pod's containers summed per resource.
import type { ApiClient } from '../../client/rest-client.js';
import { parseQuantity } from '../../k8s/quantity.js';

/** Pod name -> resource name -> usage (cores for cpu, bytes for memory). */
export type PodUsage = Map<string, Map<string, number>>;

export interface MetricsSource {
  podUsage(namespace: string, labelSelector: string): Promise<PodUsage>;
}

interface PodMetricsList {
  items: { metadata: { name: string }; containers: { usage: Record<string, string> }[] }[];
}

export function metricsApiSource(api: ApiClient): MetricsSource {
  return {
    async podUsage(namespace, labelSelector) {
      const query = `labelSelector=${encodeURIComponent(labelSelector)}`;
      const path = `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods?${query}`;
      const list = await api.getJson<PodMetricsList>(path);
      const out: PodUsage = new Map();
      for (const pod of list.items) {
        const sums = new Map<string, number>();
        for (const c of pod.containers)
          for (const [resource, q] of Object.entries(c.usage)) sums.set(resource, (sums.get(resource) ?? 0) + parseQuantity(q));
        out.set(pod.metadata.name, sums);
      }
      return out;
    },
  };
}
