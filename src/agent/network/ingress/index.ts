// The ingress part of the node's network, K3s's Traefik without its pod: every node serves the
// Ingresses of Skiff's classes on its own addresses, HTTP on --ingress-http-port and HTTPS (SNI) on
// --ingress-https-port, from informers on Ingresses, IngressClasses, Services and EndpointSlices.
// The server makes the class and writes the Ingresses' status (src/controllers/ingress-status.ts);
// with --disable ingress (or traefik) no node listens.
import http from 'node:http';
import https from 'node:https';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';
import { Informer } from '../../../client/informer.js';
import type { ApiClient } from '../../../client/rest-client.js';
import { endpointSlices, ingressClasses, ingresses, secrets, services } from '../../../client/resources.js';
import { log } from '../../../log.js';
import type { NetworkPart } from '../settings.js';
import { lean } from '../services/index.js';
import { SyncLoop } from '../sync-loop.js';
import { CertificateStore, defaultContext } from './certificates.js';
import { RoundRobin, SERVICE_NAME_LABEL, targetsOf } from './endpoints.js';
import { proxyRequest, proxyUpgrade, type Resolution } from './proxy.js';
import { buildRoutes, normalHost, type RouteTable, route, tlsFor } from './routes.js';
import { ingressDisabled, isSkiffIngress, skiffClasses } from '../../../k8s/ingress.js';

export const DEFAULT_INGRESS_PORTS = { http: 80, https: 443 };

/** How often TLS Secrets are read again: a node may get them by name only, so it cannot watch them. */
const SECRET_REFRESH_MS = 30_000;
/** How often a port that could not be opened is tried again. */
const RELISTEN_MS = 5_000;

export const startIngress: NetworkPart = async (api: ApiClient, s) => {
  if (ingressDisabled(s.cluster.disabled)) return { stop() {} };
  const ports = s.ingressPorts ?? DEFAULT_INGRESS_PORTS;
  const ingressInformer = new Informer<Ingress>(api.resource(ingresses), { transform: lean });
  const classInformer = new Informer<IngressClass>(api.resource(ingressClasses), { transform: lean });
  const serviceInformer = new Informer<Service>(api.resource(services), { transform: lean });
  const sliceInformer = new Informer<EndpointSlice>(api.resource(endpointSlices), { transform: lean });
  const certificates = new CertificateStore((ns, name) => api.resource(secrets).get(ns, name), await defaultContext());
  let table: RouteTable = { routes: [], tls: [] };
  // One rebuild per burst of changes (the first list is one burst), its Secrets read before the next.
  const loop = new SyncLoop(
    async () => {
      const classes = skiffClasses(classInformer.list());
      table = buildRoutes(ingressInformer.list().filter((ing) => isSkiffIngress(ing, classes)));
      await certificates.refresh(table.tls);
    },
    { what: 'ingress', debounceMs: 20 },
  );
  const changed = () => loop.request();
  for (const inf of [ingressInformer, classInformer]) inf.on({ add: changed, update: changed, delete: changed });

  const turns = new RoundRobin();
  const resolve = (hostHeader: string | undefined, url: string | undefined): Resolution => {
    const backend = route(table, normalHost(hostHeader), (url ?? '/').split('?')[0]!);
    if (!backend) return { status: 404, reason: 'Not Found' };
    const slices = sliceInformer.list(backend.namespace).filter((sl) => sl.metadata?.labels?.[SERVICE_NAME_LABEL] === backend.service);
    const targets = targetsOf(backend, serviceInformer.get(`${backend.namespace}/${backend.service}`), slices);
    const key = `${backend.namespace}/${backend.service}:${backend.port}`;
    const target = targets && turns.pick(key, targets);
    return target ? { target } : { status: 503, reason: `Service Unavailable: no ready endpoint of ${key}` };
  };

  const serve = (server: http.Server, secure: boolean) =>
    server
      .on('request', (req, res) => proxyRequest(req, res, resolve(req.headers.host, req.url), secure))
      .on('upgrade', (req, socket, head) => proxyUpgrade(req, socket, head, resolve(req.headers.host, req.url), secure));
  const tlsOptions: https.ServerOptions = {
    SNICallback: (name, cb) => cb(null, certificates.contextFor(tlsFor(table, name))),
    secureContext: certificates.fallback,
  };

  for (const inf of [ingressInformer, classInformer, serviceInformer, sliceInformer]) inf.start();
  // Routes once both lists are in; then the Secrets are read again every SECRET_REFRESH_MS.
  void Promise.all([ingressInformer.synced(), classInformer.synced()]).then(() => {
    if (!loop.isStopped) return loop.start(SECRET_REFRESH_MS, async () => loop.request());
  });
  const addresses = [...new Set([s.nodeIP, s.externalIP].filter((a): a is string => !!a))];
  const listeners: http.Server[] = [];
  const retries = new Set<NodeJS.Timeout>();
  let stopped = false;
  // A port that is taken (by an agent still going away, or another program) is tried again until it is free.
  const open = async (server: http.Server, port: number, address: string, attempt = 0): Promise<void> => {
    try {
      await listen(server, port, address);
      listeners.push(server);
    } catch (err) {
      if (attempt === 0)
        log.error({ address, port, err: (err as Error).message }, 'ingress: cannot listen, trying again every few seconds');
      if (stopped) return;
      const timer = setTimeout(() => {
        retries.delete(timer);
        if (!stopped) void open(server, port, address, attempt + 1);
      }, RELISTEN_MS).unref();
      retries.add(timer);
    }
  };
  for (const address of addresses) {
    await open(serve(http.createServer(), false), ports.http, address);
    await open(serve(https.createServer(tlsOptions), true), ports.https, address);
  }
  log.info({ addresses, http: ports.http, https: ports.https }, 'ingress listening');
  return {
    async stop() {
      stopped = true;
      for (const timer of retries) clearTimeout(timer);
      loop.stop();
      for (const inf of [ingressInformer, classInformer, serviceInformer, sliceInformer]) inf.stop();
      await Promise.all(
        listeners.map(
          (l) =>
            new Promise<void>((done) => {
              l.close(() => done());
              l.closeAllConnections();
            }),
        ),
      );
    },
  };
};

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
