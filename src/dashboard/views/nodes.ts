// Nodes with their status, capacity and, when metrics.k8s.io answers, their usage.
import { age, h, table } from '../dom.js';
import { listPath } from '../paths.js';
import { formatBytes, formatCpu, withShare } from '../usage.js';
import type { KubeObject } from '../watch-stream.js';
import { liveSection, type View } from './view.js';

interface NodeMetrics {
  metadata: { name: string };
  usage: { cpu: string; memory: string };
}

export const nodeReady = (n: KubeObject) =>
  ((n.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

const METRICS_PERIOD_MS = 15_000;

export const nodes: View = (ctx) => {
  let usage: Map<string, NodeMetrics['usage']> | undefined;
  const metricsNote = h('p', { class: 'metrics' }, 'metrics: …');
  const section = liveSection<KubeObject>(ctx, 'Nodes', listPath('v1', 'nodes', ''), (items) =>
    table(
      ['Name', 'Status', 'Roles', 'Version', 'CPU', 'Memory', 'CPU used', 'Memory used', 'Age'],
      items.map((n) => {
        const status = n.status as {
          capacity?: Record<string, string>;
          allocatable?: Record<string, string>;
          nodeInfo?: { kubeletVersion?: string };
        };
        const labels = (n.metadata.labels ?? {}) as Record<string, string>;
        const roles = Object.keys(labels).flatMap((l) => (l.startsWith('node-role.kubernetes.io/') ? [l.split('/')[1]] : []));
        const used = usage?.get(n.metadata.name);
        return [
          h('a', { href: `#/yaml/api/v1/nodes/${n.metadata.name}` }, n.metadata.name),
          nodeReady(n) ? 'Ready' : 'NotReady',
          roles.join(',') || '<none>',
          status.nodeInfo?.kubeletVersion,
          status.capacity?.cpu && formatCpu(status.capacity.cpu),
          status.capacity?.memory && formatBytes(status.capacity.memory),
          used ? withShare(used.cpu, status.allocatable?.cpu, formatCpu) : '-',
          used ? withShare(used.memory, status.allocatable?.memory, formatBytes) : '-',
          age(n.metadata.creationTimestamp),
        ];
      }),
    ),
  );
  ctx.root.replaceChildren(h('h1', {}, 'Nodes'), metricsNote, section.element);
  // Usage cannot be watched: read it now and then, for as long as the view is open.
  const readMetrics = async () => {
    try {
      const list = await ctx.api.json<{ items: NodeMetrics[] }>('/apis/metrics.k8s.io/v1beta1/nodes', { signal: ctx.signal });
      usage = new Map(list.items.map((m) => [m.metadata.name, m.usage]));
      metricsNote.textContent = `metrics: from metrics.k8s.io, every ${METRICS_PERIOD_MS / 1000}s`;
    } catch {
      usage = undefined;
      metricsNote.textContent = 'metrics unavailable';
    }
    if (!ctx.signal.aborted) section.refresh();
  };
  void readMetrics();
  const timer = setInterval(readMetrics, METRICS_PERIOD_MS);
  ctx.signal.addEventListener('abort', () => clearInterval(timer));
};
