// pods/log, pods/exec, pods/attach and pods/portforward: the API server checks the request against
// the pod (its container, its node, its phase) and forwards it to the node's agent on its kubelet
// port, authenticating with the cluster's kubelet client certificate. Logs stream back as text.
// exec, attach and port-forward are upgraded connections: WebSocket ones the API server speaks
// itself and carries to the node over SPDY (streaming/), SPDY ones are joined end to end with the node's.
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { ApiError, badRequest } from '../k8s/errors.js';
import type { StoredObject } from '../k8s/object.js';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { admitRequest, type GateDeps } from './authz/gate.js';
import { requestInfo } from './authz/request-info.js';
import { log } from '../log.js';
import { refuseUpgrade, replayUpgrade } from '../net/upgrade.js';
import { queryBool } from './query.js';
import type { ExecOptions } from './streaming/exec-bridge.js';
import { connectNode, type NodeTarget } from './streaming/node-dial.js';
import { parsePorts } from './streaming/portforward-bridge.js';
import { isTunnelRequest, isWebSocketRequest, WebSocketStreams } from './streaming/websocket-streams.js';
import type { RequestContext } from './request-context.js';
import { methodNotAllowed } from './request-context.js';
import type { SubresourceHandler } from './routes.js';

interface Container {
  name: string;
}
interface PodLike extends StoredObject {
  spec?: { nodeName?: string; containers?: Container[]; initContainers?: Container[]; ephemeralContainers?: Container[] };
  status?: { phase?: string };
}
export interface NodeLike extends StoredObject {
  status?: { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
}

/** Where a node's kubelet port is: its InternalIP (or first address) and its kubelet endpoint's port. */
export function kubeletAddress(node: NodeLike): { host: string; port: number } | undefined {
  const addresses = node.status?.addresses ?? [];
  const host = (addresses.find((a) => a.type === 'InternalIP') ?? addresses[0])?.address;
  return host ? { host, port: node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250 } : undefined;
}

export interface KubeletClientCert {
  certPem: string;
  keyPem: string;
}

const INT_PARAMS = ['tailLines', 'sinceSeconds', 'limitBytes'];
const UPGRADE_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/;

/** The container a request means: named, or the pod's only one (kubectl's default annotation aside). */
function containerOf(pod: PodLike, query: URLSearchParams): string {
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const init = (pod.spec?.initContainers ?? []).map((c) => c.name);
  const name = query.get('container');
  const podName = pod.metadata.name;
  if (!name) {
    if (containers.length === 1) return containers[0]!;
    const orInit = init.length ? ` or one of the init containers: [${init.join(' ')}]` : '';
    throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${containers.join(' ')}]${orInit}`);
  }
  if (![...containers, ...init, ...(pod.spec?.ephemeralContainers ?? []).map((c) => c.name)].includes(name))
    throw badRequest(`container ${name} is not valid for pod ${podName}`);
  return name;
}

export class KubeletProxy {
  private readonly agent: https.Agent;
  private readonly webSockets = new WebSocketStreams();

  constructor(
    private readonly registry: Registry,
    private readonly objects: ObjectStore,
    private readonly cert: KubeletClientCert,
    private readonly gate: GateDeps,
  ) {
    // A kubelet's serving certificate is its own; like kube-apiserver by default, do not verify it.
    this.agent = new https.Agent({ cert: cert.certPem, key: cert.keyPem, rejectUnauthorized: false, keepAlive: true });
  }

  private async pod(namespace: string, name: string): Promise<PodLike> {
    return (await this.objects.get(this.registry.byResource('', 'v1', 'pods')!, namespace, name)) as PodLike;
  }

  /** Where the pod's node takes calls: its InternalIP and kubelet port. */
  private async node(pod: PodLike): Promise<{ host: string; port: number }> {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) throw badRequest(`pod ${pod.metadata.name} does not have a host assigned`);
    const node = (await this.objects.tryGet(this.registry.byResource('', 'v1', 'nodes')!, undefined, nodeName)) as NodeLike | undefined;
    const address = node && kubeletAddress(node);
    if (!address) throw new ApiError(503, 'ServiceUnavailable', `no address is known for node ${nodeName}`);
    return address;
  }

  readonly logs: SubresourceHandler = async (ctx: RequestContext) => {
    if (ctx.req.method !== 'GET') throw methodNotAllowed(ctx);
    const q = ctx.query;
    for (const p of INT_PARAMS) {
      const v = q.get(p);
      if (v !== null && !/^\d+$/.test(v)) throw badRequest(`invalid value for ${p}: "${v}": must be a non-negative integer`);
    }
    if (q.get('sinceSeconds') === '0') throw badRequest('sinceSeconds must be greater than 0');
    if (q.get('sinceSeconds') && q.get('sinceTime')) throw badRequest('at most one of sinceTime or sinceSeconds may be specified');
    if (q.get('sinceTime') && Number.isNaN(Date.parse(q.get('sinceTime')!)))
      throw badRequest(`invalid value for sinceTime: "${q.get('sinceTime')}"`);
    const pod = await this.pod(ctx.path.namespace!, ctx.path.name!);
    const container = containerOf(pod, q);
    const { host, port } = await this.node(pod);
    const forward = new URLSearchParams();
    for (const p of ['sinceTime', ...INT_PARAMS]) if (q.get(p) !== null) forward.set(p, q.get(p)!);
    // The node reads booleans as `true`; clients write them as Go parses them (`True`, `1`, ...).
    for (const p of ['follow', 'previous', 'timestamps']) if (queryBool(q, p) !== undefined) forward.set(p, String(queryBool(q, p)));
    const where = [pod.metadata.namespace!, pod.metadata.name, container].map(encodeURIComponent).join('/');
    const path = `/containerLogs/${where}?${forward}`;
    const get = () =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = https.get({ host, port, path, agent: this.agent, signal: ctx.req.signal }, resolve);
        req.on('error', (err: NodeJS.ErrnoException) => {
          // A kept-alive connection the node closed just as it was reused: asked again on a new one.
          if (req.reusedSocket && err.code === 'ECONNRESET') return resolve(get());
          reject(new ApiError(503, 'ServiceUnavailable', `cannot reach the node ${pod.spec!.nodeName} at ${host}:${port}: ${err.message}`));
        });
      });
    const res = await get();
    if (res.statusCode !== 200) {
      let text = '';
      for await (const chunk of res) text += chunk;
      throw new ApiError(
        res.statusCode === 404 ? 404 : 400,
        res.statusCode === 404 ? 'NotFound' : 'BadRequest',
        text.trim() || `the node answered HTTP ${res.statusCode}`,
      );
    }
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        res.on('data', (chunk: Buffer) => controller.enqueue(new Uint8Array(chunk)));
        res.on('end', () => controller.close());
        res.on('error', (err) => controller.error(err));
      },
      cancel() {
        res.destroy();
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/plain' } });
  };

  /** An upgrade request to the API server (exec, attach, portforward): checked, then joined with the node's. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      await this.forwardUpgrade(req, socket, head);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
      refuseUpgrade(socket, e.code, e.reason, 'application/json', JSON.stringify(e.toStatus()));
    }
  }

  private async forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://api');
    const m = UPGRADE_PATH.exec(url.pathname);
    if (!m) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${req.method} ${url.pathname})`);
    const [, namespace, name, sub] = m.map((x) => decodeURIComponent(x)) as [string, string, string, 'exec' | 'attach' | 'portforward'];
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    // Upstream checks `create` on pods/exec|attach|portforward, for WebSocket GETs too.
    await admitRequest(this.gate, new Request(url, { headers }), { incoming: req }, { ...requestInfo('POST', url), verb: 'create' });
    const pod = await this.pod(namespace, name);
    const phase = pod.status?.phase;
    const podPath = `${encodeURIComponent(pod.metadata.namespace!)}/${encodeURIComponent(pod.metadata.name)}`;
    const webSocket = isWebSocketRequest(req);
    if (sub === 'portforward') {
      if (phase !== 'Running') throw badRequest(`pod ${pod.metadata.name} is not running (phase ${phase ?? 'Pending'})`);
      // Channel WebSocket clients name their ports up front; SPDY and the SPDY tunnel name them per stream.
      const ports = webSocket && !isTunnelRequest(req) ? parsePorts(url.searchParams) : undefined;
      const path = `/portForward/${podPath}`;
      const node = await this.nodeTarget(pod);
      if (webSocket) return this.webSockets.serve(req, client, head, { kind: 'portforward', node, path, ports });
      return this.replay(req, client, head, node, path);
    }
    if (phase === 'Succeeded' || phase === 'Failed')
      throw badRequest(`cannot ${sub} into a container in a completed pod; current phase is ${phase}`);
    const container = containerOf(pod, url.searchParams);
    const options = streamOptions(sub, url.searchParams);
    const query = new URLSearchParams();
    if (sub === 'exec') for (const c of url.searchParams.getAll('command')) query.append('command', c);
    for (const [k, v] of Object.entries(options)) query.set(k, String(v));
    const path = `/${sub}/${podPath}/${encodeURIComponent(container)}?${query}`;
    const node = await this.nodeTarget(pod);
    if (webSocket) return this.webSockets.serve(req, client, head, { kind: sub, node, path, options });
    return this.replay(req, client, head, node, path);
  }

  private async nodeTarget(pod: PodLike): Promise<NodeTarget> {
    const { host, port } = await this.node(pod);
    return { nodeName: pod.spec!.nodeName!, host, port, cert: this.cert };
  }

  /** SPDY clients (kubectl's fallback, older clients): the request goes on as it is, and the node answers it. */
  private async replay(req: IncomingMessage, client: Duplex, head: Buffer, node: NodeTarget, path: string): Promise<void> {
    const upstream = await connectNode(node);
    log.debug({ path, upgrade: req.headers.upgrade }, 'upgrade replayed to the node as it is');
    replayUpgrade(req, client, head, upstream, { path, host: `${node.host}:${node.port}` });
  }
}

/** stdin/stdout/stderr/tty of an exec or attach (stdout defaults to true, as in PodExecOptions). */
function streamOptions(sub: string, q: URLSearchParams): ExecOptions {
  const o = {
    stdin: queryBool(q, 'stdin') ?? false,
    stdout: queryBool(q, 'stdout') ?? true,
    stderr: queryBool(q, 'stderr') ?? false,
    tty: queryBool(q, 'tty') ?? false,
  };
  if (!o.stdin && !o.stdout && !o.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (sub === 'exec' && q.getAll('command').length === 0) throw badRequest('you must specify at least one command for the container');
  return o;
}
