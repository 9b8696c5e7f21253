// The agent's HTTPS endpoint (the kubelet's port 10250), which only the API server may call: it
// presents a client certificate from the cluster's client CA named kube-apiserver-kubelet-client.
// It serves container logs from the CRI log files, and hands exec, attach and port-forward
// connections on to containerd's streaming server: the upgrade request is replayed there and the
// two connections joined, so kubectl and containerd agree on the protocol between themselves. It also
// serves the node's usage (/stats/summary, /metrics/resource) for the metrics API.
import https from 'node:https';
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createCA, issueCertificate } from '../pki/certificates.js';
import { KUBELET_CLIENT_NAME } from '../pki/cluster-pki.js';
import { log } from '../log.js';
import { refuseUpgrade, replayUpgrade } from '../net/upgrade.js';
import { handleUpgrades } from '../net/upgraded-sockets.js';
import type { Kubelet } from './kubelet.js';
import { KubeletError } from './kubelet-error.js';
import { containerLog } from './pods/container-logs.js';
import { resourceMetrics } from './stats/resource-metrics.js';
import { StatsProvider } from './stats/stats-provider.js';

const STATS_HOUSEKEEPING_MS = 10_000;
const JSON_TYPE = { 'content-type': 'application/json' };
const PROMETHEUS_TYPE = { 'content-type': 'text/plain; version=0.0.4' };

const bool = (v: string | null) => v === 'true' || v === '1';

function authorized(req: IncomingMessage): boolean {
  const socket = req.socket as TLSSocket;
  return socket.authorized && socket.getPeerCertificate()?.subject?.CN === KUBELET_CLIENT_NAME;
}

export interface KubeletServerOptions {
  port: number;
  host?: string;
  nodeName: string;
  nodeIP: string;
  /** The cluster's client CA, which signs the API server's kubelet client certificate. */
  clientCaPem: string;
}

export async function startKubeletServer(kubelet: Kubelet, o: KubeletServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  // Self-signed, as a kubelet's own serving certificate: the API server does not verify it by default either.
  const ca = await createCA(`${o.nodeName}-ca`);
  const serving = await issueCertificate(ca, {
    commonName: o.nodeName,
    sans: [o.nodeIP, o.nodeName, 'localhost', '127.0.0.1'],
    usage: 'server',
  });
  const server = https.createServer(
    { cert: serving.certPem + ca.certPem, key: serving.keyPem, ca: o.clientCaPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      void handle(kubelet, stats, req, res).catch((err: Error) => fail(res, err));
    },
  );
  server.requestTimeout = 0;
  const stats = new StatsProvider({ nodeName: o.nodeName, cri: kubelet.cri });
  // Readings between scrapes too, as cAdvisor's housekeeping: a scrape then always has a rate.
  const housekeeping = setInterval(() => void stats.summary().catch(() => {}), STATS_HOUSEKEEPING_MS).unref();
  void stats.summary().catch(() => {});
  const upgrades = handleUpgrades(server, (req, socket, head) => {
    void stream(kubelet, req, socket, head).catch((err: Error) => {
      const code = err instanceof KubeletError ? err.code : 500;
      refuseUpgrade(
        socket,
        code,
        code === 404 ? 'Not Found' : code === 403 ? 'Forbidden' : code === 500 ? 'Internal Server Error' : 'Bad Request',
        'text/plain',
        err.message,
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message;
      reject(new Error(`cannot listen on port ${o.port} for the API server's calls: ${why}`));
    });
    server.listen(o.port, o.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(housekeeping);
        server.close(() => resolve());
        server.closeAllConnections();
        upgrades.closeAll();
      }),
  };
}

/** Prometheus text: containerd calls by method, and the pods the agent runs. */
function metrics(kubelet: Kubelet): string {
  const lines = ['# HELP skiff_cri_calls_total CRI calls the agent made to containerd.', '# TYPE skiff_cri_calls_total counter'];
  for (const [method, n] of [...kubelet.cri.calls].sort()) lines.push(`skiff_cri_calls_total{method="${method}"} ${n}`);
  lines.push(
    '# HELP skiff_running_pods Pods the agent is handling.',
    '# TYPE skiff_running_pods gauge',
    `skiff_running_pods ${kubelet.podCount}`,
  );
  return `${lines.join('\n')}\n`;
}

function fail(res: ServerResponse, err: Error): void {
  const code = err instanceof KubeletError ? err.code : 500;
  if (code === 500) log.warn({ err: err.message }, 'kubelet request failed');
  if (res.headersSent) return void res.destroy();
  res.writeHead(code, { 'content-type': 'text/plain' }).end(err.message);
}

async function handle(kubelet: Kubelet, stats: StatsProvider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!authorized(req)) throw new KubeletError(403, 'Forbidden: only the API server may call the node');
  const url = new URL(req.url ?? '/', 'https://node');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'healthz') return void res.end('ok');
  if (url.pathname === '/stats/summary') return void res.writeHead(200, JSON_TYPE).end(JSON.stringify(await stats.summary()));
  if (url.pathname === '/metrics/resource') return void res.writeHead(200, PROMETHEUS_TYPE).end(resourceMetrics(await stats.summary()));
  if (parts[0] === 'metrics') return void res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics(kubelet));
  if (parts[0] !== 'containerLogs' || parts.length !== 4 || req.method !== 'GET')
    throw new KubeletError(404, `no such endpoint: ${req.method} ${url.pathname}`);
  const [, namespace, podName, containerName] = parts as [string, string, string, string];
  const q = url.searchParams;
  const previous = bool(q.get('previous'));
  const container = await kubelet.findContainer(namespace, podName, containerName, previous);
  const since = q.get('sinceTime')
    ? new Date(q.get('sinceTime')!)
    : q.get('sinceSeconds')
      ? new Date(Date.now() - Number(q.get('sinceSeconds')) * 1000)
      : undefined;
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  const opts = {
    follow: bool(q.get('follow')) && !previous,
    tailLines: q.get('tailLines') !== null ? Number(q.get('tailLines')) : undefined,
    since,
    timestamps: bool(q.get('timestamps')),
    limitBytes: q.get('limitBytes') !== null ? Number(q.get('limitBytes')) : undefined,
  };
  for await (const chunk of containerLog(container.logPath, opts, () => kubelet.isRunning(container.id), abort.signal)) {
    if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

/** exec, attach and portForward: ask containerd for a streaming URL and join the connection to it. */
async function stream(kubelet: Kubelet, req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
  if (!authorized(req)) throw new KubeletError(403, 'Forbidden: only the API server may call the node');
  const url = new URL(req.url ?? '/', 'https://node');
  const [kind, namespace, podName, containerName] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent) as [
    string,
    string,
    string,
    string | undefined,
  ];
  const q = url.searchParams;
  let target: string;
  if (kind === 'exec' || kind === 'attach') {
    if (!containerName) throw new KubeletError(400, `${kind} needs a container`);
    const c = await kubelet.findContainer(namespace, podName, containerName, false);
    if (c.state !== 'CONTAINER_RUNNING') throw new KubeletError(400, `container not found ("${containerName}")`);
    const io = { stdin: bool(q.get('stdin')), stdout: bool(q.get('stdout')), stderr: bool(q.get('stderr')), tty: bool(q.get('tty')) };
    target =
      kind === 'exec'
        ? await kubelet.cri.exec({ containerId: c.id, cmd: q.getAll('command'), ...io, stderr: io.stderr && !io.tty })
        : await kubelet.cri.attach({ containerId: c.id, ...io, stderr: io.stderr && !io.tty });
  } else if (kind === 'portForward') {
    const sandbox = await kubelet.readySandbox(namespace, podName);
    target = await kubelet.cri.portForward(sandbox, []);
  } else throw new KubeletError(404, `no such endpoint: ${url.pathname}`);
  const to = new URL(target);
  const upstream = net.connect(Number(to.port), to.hostname);
  await new Promise<void>((resolve, reject) => upstream.once('connect', resolve).once('error', reject));
  replayUpgrade(req, client, head, upstream, { path: to.pathname + to.search, host: to.host });
}
