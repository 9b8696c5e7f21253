// Deployments, StatefulSets and DaemonSets with their readiness; each links to its pods.
import { age, h, link, table } from '../dom.js';
import { listPath, selectorQuery } from '../paths.js';
import type { KubeObject } from '../watch-stream.js';
import { liveSection, type View, type ViewContext } from './view.js';

interface WorkloadKind {
  title: string;
  plural: string;
  /** Ready out of wanted, as kubectl's READY column. */
  ready(status: Record<string, number>, spec: { replicas?: number }): string;
}

const KINDS: WorkloadKind[] = [
  { title: 'Deployments', plural: 'deployments', ready: (s, spec) => `${s.readyReplicas ?? 0}/${spec.replicas ?? 1}` },
  { title: 'StatefulSets', plural: 'statefulsets', ready: (s, spec) => `${s.readyReplicas ?? 0}/${spec.replicas ?? 1}` },
  { title: 'DaemonSets', plural: 'daemonsets', ready: (s) => `${s.numberReady ?? 0}/${s.desiredNumberScheduled ?? 0}` },
];

function workloadSection(ctx: ViewContext, kind: WorkloadKind): HTMLElement {
  return liveSection<KubeObject>(ctx, kind.title, listPath('apps/v1', kind.plural, ctx.namespace), (items) =>
    table(
      ['Namespace', 'Name', 'Ready', 'Age', ''],
      items.map((w) => {
        const spec = (w.spec ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
        const ns = w.metadata.namespace!;
        const pods = `#/pods?selector=${encodeURIComponent(selectorQuery(spec.selector))}`;
        return [
          ns,
          w.metadata.name,
          kind.ready((w.status ?? {}) as Record<string, number>, spec),
          age(w.metadata.creationTimestamp),
          h('span', {}, link(pods, 'pods'), ' ', link(`#/yaml/apis/apps/v1/namespaces/${ns}/${kind.plural}/${w.metadata.name}`, 'yaml')),
        ];
      }),
      `No ${kind.title.toLowerCase()}`,
    ),
  ).element;
}

export const workloads: View = (ctx) => {
  ctx.root.replaceChildren(h('h1', {}, 'Workloads'), ...KINDS.map((k) => workloadSection(ctx, k)));
};
