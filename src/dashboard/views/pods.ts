// Pods, live, optionally those of one workload (its selector), with links to their logs and YAML.
import { age, h, link, table } from '../dom.js';
import { listPath } from '../paths.js';
import type { KubeObject } from '../watch-stream.js';
import { liveSection, type View, type ViewContext } from './view.js';

interface PodStatus {
  phase?: string;
  reason?: string;
  containerStatuses?: { ready: boolean; restartCount: number; state?: Record<string, { reason?: string }> }[];
}

/** What kubectl's STATUS column says: a waiting or terminated container's reason, else the phase. */
export function podStatus(pod: KubeObject): string {
  const status = (pod.status ?? {}) as PodStatus;
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  for (const c of status.containerStatuses ?? []) {
    const reason = c.state?.waiting?.reason ?? c.state?.terminated?.reason;
    if (reason) return reason;
  }
  return status.reason ?? status.phase ?? 'Unknown';
}

export function podsSection(ctx: ViewContext, title: string, selector: string): HTMLElement {
  return liveSection<KubeObject>(ctx, title, listPath('v1', 'pods', ctx.namespace, { labelSelector: selector }), (items) =>
    table(
      ['Namespace', 'Name', 'Ready', 'Status', 'Restarts', 'Node', 'Age', ''],
      items.map((p) => {
        const status = (p.status ?? {}) as PodStatus;
        const containers = status.containerStatuses ?? [];
        const ns = p.metadata.namespace!;
        const name = p.metadata.name;
        return [
          ns,
          h('span', { 'data-pod': `${ns}/${name}` }, name),
          `${containers.filter((c) => c.ready).length}/${containers.length}`,
          podStatus(p),
          containers.reduce((n, c) => n + c.restartCount, 0),
          String((p.spec as { nodeName?: string })?.nodeName ?? ''),
          age(p.metadata.creationTimestamp),
          h('span', {}, link(`#/logs/${ns}/${name}`, 'logs'), ' ', link(`#/yaml/api/v1/namespaces/${ns}/pods/${name}`, 'yaml')),
        ];
      }),
      'No pods',
    ),
  ).element;
}

export const pods: View = (ctx) => {
  const selector = ctx.query.get('selector') ?? '';
  ctx.root.replaceChildren(h('h1', {}, 'Pods'), h('p', {}, selector ? `Selector: ${selector}` : ''), podsSection(ctx, 'Pods', selector));
};
