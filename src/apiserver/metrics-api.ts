// metrics.k8s.io/v1beta1 served by the API server itself, as metrics-server would behind its
// APIService: NodeMetrics and PodMetrics are read from each node's /stats/summary (the kubelet
// port, with the kubelet client certificate) and kept for a short while, so that `kubectl top`
// and the HPA controller asking at once cost one scrape per node. A node that does not answer is
// left out, as are pods without a CPU rate yet, as metrics-server does.
import https from 'node:https';
import type { Registry } from '../api/registry/registry.js';
import type { ResourceDef } from '../api/registry/types.js';
import { col } from '../api/registry/builtin/columns.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { type Clock, realClock } from '../k8s/clock.js';
import { ApiError } from '../k8s/errors.js';
import type { KObject, StoredObject } from '../k8s/object.js';
import { matches, parseLabelSelector } from '../k8s/selectors.js';
import { log } from '../log.js';
import type { Summary } from '../k8s/kubelet-stats.js';
import { type KubeletClientCert, kubeletAddress, type NodeLike } from './kubelet-proxy.js';
import { clusterRole, rule, type DefaultClusterRole } from './authz/rbac/policy.js';
import { jsonResponse, representation } from './negotiate.js';
import type { RequestContext } from './request-context.js';
import { methodNotAllowed } from './request-context.js';
import { respondObject } from './resource-handlers.js';
import type { SubresourceHandler } from './routes.js';
import { toTable } from './table.js';

export const METRICS_GROUP = 'metrics.k8s.io';
const VERSION = 'v1beta1';
/** metrics-server's default --metric-resolution: how long one scrape is served. */
const RESOLUTION_MS = 15_000;
const SCRAPE_TIMEOUT_MS = 5_000;
/** The rates come from the agents' readings, taken every 10 s (src/agent/stats). */
const WINDOW = '10s';

interface Usage {
  cpu: string;
  memory: string;
}
interface MetricsObject extends KObject {
  metadata: { name: string; namespace?: string; labels: Record<string, string>; creationTimestamp: string };
  timestamp: string;
  window: string;
}
export interface NodeMetrics extends MetricsObject {
  usage: Usage;
}
export interface PodMetrics extends MetricsObject {
  containers: { name: string; usage: Usage }[];
}

const usage = (nanoCores: number, workingSetBytes: number): Usage => ({
  cpu: `${nanoCores}n`,
  memory: `${Math.round(workingSetBytes / 1024)}Ki`,
});

const metricsDef = (kind: string, plural: string, namespaced: boolean): ResourceDef => ({
  group: METRICS_GROUP,
  version: VERSION,
  kind,
  plural,
  singular: plural.replace(/s$/, ''),
  namespaced,
  verbs: ['get', 'list'],
  virtual: true,
  columns:
    kind === 'NodeMetrics'
      ? [
          col('CPU', (m: NodeMetrics) => m.usage.cpu),
          col('Memory', (m: NodeMetrics) => m.usage.memory),
          col('Window', (m: NodeMetrics) => m.window),
        ]
      : [col('Window', (m: PodMetrics) => m.window)],
});

/** metrics-server's role, aggregated into view, edit and admin: whoever may read pods may `kubectl top` them. */
export const METRICS_READER_NAME = 'system:aggregated-metrics-reader';
export const METRICS_READER: DefaultClusterRole = clusterRole(
  METRICS_READER_NAME,
  [rule(['get', 'list', 'watch'], [METRICS_GROUP], ['pods', 'nodes'])],
  {},
  Object.fromEntries(['admin', 'edit', 'view'].map((r) => [`rbac.authorization.k8s.io/aggregate-to-${r}`, 'true'])),
);

export const metricsResources: ResourceDef[] = [metricsDef('NodeMetrics', 'nodes', false), metricsDef('PodMetrics', 'pods', true)];

/** The metrics of what the summaries hold, joined with the stored nodes and pods (their labels). */
export function metricsFromSummaries(
  summaries: Summary[],
  nodes: StoredObject[],
  pods: StoredObject[],
  now: Date,
): { nodes: NodeMetrics[]; pods: PodMetrics[] } {
  const creationTimestamp = now.toISOString();
  const apiVersion = `${METRICS_GROUP}/${VERSION}`;
  const nodeByName = new Map(nodes.map((n) => [n.metadata.name, n]));
  const podByUid = new Map(pods.map((p) => [p.metadata.uid, p]));
  const outNodes: NodeMetrics[] = [];
  const outPods: PodMetrics[] = [];
  for (const s of summaries) {
    const node = nodeByName.get(s.node.nodeName);
    if (node && s.node.cpu.usageNanoCores !== undefined)
      outNodes.push({
        apiVersion,
        kind: 'NodeMetrics',
        metadata: { name: node.metadata.name, labels: node.metadata.labels ?? {}, creationTimestamp },
        timestamp: s.node.cpu.time,
        window: WINDOW,
        usage: usage(s.node.cpu.usageNanoCores, s.node.memory.workingSetBytes),
      });
    for (const p of s.pods) {
      const pod = podByUid.get(p.podRef.uid);
      if (!pod || p.containers.some((c) => c.cpu.usageNanoCores === undefined)) continue;
      outPods.push({
        apiVersion,
        kind: 'PodMetrics',
        metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, labels: pod.metadata.labels ?? {}, creationTimestamp },
        timestamp: p.cpu.time,
        window: WINDOW,
        containers: p.containers.map((c) => ({ name: c.name, usage: usage(c.cpu.usageNanoCores!, c.memory.workingSetBytes) })),
      });
    }
  }
  return { nodes: outNodes, pods: outPods };
}

export type SummarySource = (node: NodeLike) => Promise<Summary>;

/** GET /stats/summary on a node's kubelet port. */
export function kubeletSummaries(cert: KubeletClientCert): SummarySource {
  // A kubelet's serving certificate is its own; like kube-apiserver by default, do not verify it.
  const agent = new https.Agent({ cert: cert.certPem, key: cert.keyPem, rejectUnauthorized: false, keepAlive: true });
  return (node) => {
    const address = kubeletAddress(node);
    if (!address) return Promise.reject(new Error('no address'));
    return new Promise<Summary>((resolve, reject) => {
      const req = https.get({ ...address, path: '/stats/summary', agent, timeout: SCRAPE_TIMEOUT_MS }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`));
          try {
            resolve(JSON.parse(body) as Summary);
          } catch (err) {
            reject(err as Error);
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
    });
  };
}

export class MetricsApi {
  private cached: { at: number; summaries: Promise<Summary[]> } | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly objects: ObjectStore,
    private readonly summaryOf: SummarySource,
    private readonly clock: Clock = realClock,
  ) {}

  private list(plural: string, namespace?: string): Promise<StoredObject[]> {
    return this.objects.list(this.registry.byResource('', 'v1', plural)!, namespace).then((r) => r.items);
  }

  /** Every node's summary, scraped at most once per resolution. */
  private summaries(nodes: StoredObject[]): Promise<Summary[]> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.at < RESOLUTION_MS) return this.cached.summaries;
    const summaries = Promise.all(
      nodes.map((n) =>
        this.summaryOf(n as NodeLike).catch((err: Error) => {
          log.debug({ node: n.metadata.name, err: err.message }, 'metrics: node not scraped');
          return undefined;
        }),
      ),
    ).then((all) => all.filter((s): s is Summary => s !== undefined));
    this.cached = { at: now, summaries };
    return summaries;
  }

  private async metrics(namespace: string | undefined): Promise<{ nodes: NodeMetrics[]; pods: PodMetrics[] }> {
    const [nodes, pods] = await Promise.all([this.list('nodes'), this.list('pods', namespace)]);
    return metricsFromSummaries(await this.summaries(nodes), nodes, pods, new Date(this.clock.now()));
  }

  private readonly serve: SubresourceHandler = async (ctx: RequestContext) => {
    const { def, namespace, name } = ctx.path;
    if (def.group !== METRICS_GROUP || ctx.req.method !== 'GET') throw methodNotAllowed(ctx);
    const all = await this.metrics(namespace);
    const items: MetricsObject[] =
      def.plural === 'nodes' ? all.nodes : all.pods.filter((p) => !namespace || p.metadata.namespace === namespace);
    if (name !== undefined) {
      const found = items.find((m) => m.metadata.name === name);
      if (!found)
        throw new ApiError(404, 'NotFound', `${def.plural}.${METRICS_GROUP} "${name}" not found`, {
          group: METRICS_GROUP,
          kind: def.plural,
          name,
        });
      return respondObject(ctx, found as unknown as StoredObject);
    }
    const selector = parseLabelSelector(ctx.query.get('labelSelector') ?? undefined);
    const selected = items.filter((m) => matches(selector, m.metadata.labels));
    if (representation(ctx.req.headers.get('accept')) === 'table')
      return jsonResponse(toTable(def, selected as unknown as StoredObject[], { includeObject: ctx.query.get('includeObject') }));
    return jsonResponse({
      kind: `${def.kind}List`,
      apiVersion: `${METRICS_GROUP}/${VERSION}`,
      metadata: {},
      items: selected.map(({ apiVersion: _a, kind: _k, ...rest }) => rest as KObject),
    });
  };

  /** The handlers for the routes' `special` table: virtual kinds are keyed by their plural. */
  readonly handlers: Record<string, SubresourceHandler> = { nodes: this.serve, pods: this.serve };
}
