// The routing table of the node's ingress, a pure function of the Ingresses of Skiff's classes:
// which Service port a request's host and path go to, and which TLS Secret answers a server name.
// Host: an exact name beats a `*.` wildcard (one label, as the Ingress spec says), which beats a rule
// without host; within a host, the longest path wins, Exact before Prefix at equal length; Prefix
// matches whole path elements (/foo matches /foo and /foo/bar, not /foobar); ImplementationSpecific
// is Prefix here. The same host and path in two Ingresses go to the oldest one (then by name).
import type { Ingress, IngressBackend } from 'kubernetes-types/networking/v1.js';

export interface Backend {
  namespace: string;
  service: string;
  /** The Service port, by number or by name. */
  port: number | string;
}

export interface Route {
  /** '' for a rule without host. */
  host: string;
  path: string;
  exact: boolean;
  backend: Backend;
}

export interface TlsEntry {
  /** Server names the Secret answers ('' when the entry names none: any name of its Ingress). */
  hosts: string[];
  namespace: string;
  secretName: string;
}

export interface RouteTable {
  /** In matching order: the first route that matches a request is its route. */
  routes: Route[];
  defaultBackend?: Backend;
  tls: TlsEntry[];
}

function backendOf(namespace: string, b: IngressBackend | undefined): Backend | undefined {
  const svc = b?.service;
  if (!svc?.name) return undefined;
  const port = svc.port?.number ?? svc.port?.name;
  return port === undefined ? undefined : { namespace, service: svc.name, port };
}

const age = (i: Ingress) => `${i.metadata?.creationTimestamp ?? ''}/${i.metadata?.namespace}/${i.metadata?.name}`;

/** 2 for an exact host, 1 for a wildcard, 0 for none. */
const hostRank = (host: string) => (host === '' ? 0 : host.startsWith('*.') ? 1 : 2);

export function buildRoutes(ours: Ingress[]): RouteTable {
  const oldestFirst = [...ours].sort((a, b) => (age(a) < age(b) ? -1 : age(a) > age(b) ? 1 : 0));
  const seen = new Set<string>();
  const routes: Route[] = [];
  const tls: TlsEntry[] = [];
  let defaultBackend: Backend | undefined;
  for (const ing of oldestFirst) {
    const namespace = ing.metadata?.namespace ?? 'default';
    defaultBackend ??= backendOf(namespace, ing.spec?.defaultBackend);
    for (const rule of ing.spec?.rules ?? []) {
      const host = (rule.host ?? '').toLowerCase();
      for (const p of rule.http?.paths ?? []) {
        const backend = backendOf(namespace, p.backend);
        if (!backend) continue;
        const exact = p.pathType === 'Exact';
        const path = p.path || '/';
        const key = `${host} ${exact} ${exact ? path : trimSlash(path)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        routes.push({ host, path, exact, backend });
      }
    }
    for (const t of ing.spec?.tls ?? []) {
      if (!t.secretName) continue;
      const hosts = (t.hosts ?? []).map((h) => h.toLowerCase());
      tls.push({ hosts: hosts.length > 0 ? hosts : [''], namespace, secretName: t.secretName });
    }
  }
  routes.sort(
    (a, b) =>
      hostRank(b.host) - hostRank(a.host) || trimSlash(b.path).length - trimSlash(a.path).length || Number(b.exact) - Number(a.exact),
  );
  return { routes, defaultBackend, tls };
}

const trimSlash = (p: string) => (p.length > 1 && p.endsWith('/') ? p.replace(/\/+$/, '') : p);

/** Whether a request's host (no port, lower case) falls under a rule's host. */
export function hostMatches(ruleHost: string, host: string): boolean {
  if (ruleHost === '') return true;
  if (!ruleHost.startsWith('*.')) return ruleHost === host;
  const suffix = ruleHost.slice(1); // ".example.com"
  return host.endsWith(suffix) && host.length > suffix.length && !host.slice(0, -suffix.length).includes('.');
}

/** Whether a request path matches a rule path (Exact, or Prefix by whole elements). */
export function pathMatches(route: Pick<Route, 'path' | 'exact'>, path: string): boolean {
  if (route.exact) return path === route.path;
  const prefix = trimSlash(route.path);
  if (prefix === '/') return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** The request's host as rules see it: no port, no trailing dot, lower case. */
export function normalHost(hostHeader: string | undefined): string {
  let h = (hostHeader ?? '').toLowerCase();
  if (h.startsWith('[')) h = h.slice(0, h.indexOf(']') + 1);
  else if (h.includes(':')) h = h.slice(0, h.indexOf(':'));
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** Where a request goes: its route's backend, else the default backend, else nowhere (404). */
export function route(table: RouteTable, host: string, path: string): Backend | undefined {
  for (const r of table.routes) if (hostMatches(r.host, host) && pathMatches(r, path)) return r.backend;
  return table.defaultBackend;
}

/** The TLS Secret for a server name: an entry naming it exactly, else by wildcard, else one naming no hosts. */
export function tlsFor(table: RouteTable, serverName: string): TlsEntry | undefined {
  const name = serverName.toLowerCase();
  return (
    table.tls.find((t) => t.hosts.includes(name)) ??
    table.tls.find((t) => t.hosts.some((h) => h.startsWith('*.') && hostMatches(h, name))) ??
    table.tls.find((t) => t.hosts.includes(''))
  );
}
