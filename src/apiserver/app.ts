// The API server as a hono app: authentication, then health, version, discovery, OpenAPI and the
// resource endpoints. Served over HTTPS by src/server, or called in-process through app.fetch.
import { KUBERNETES_VERSION } from '../k8s/version.js';
import { Hono, type Context } from 'hono';
import { ApiError, badRequest, internalError } from '../k8s/errors.js';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { log } from '../log.js';
import type { Bindings, TokenAuthenticator, UserInfo } from './authn.js';
import { aggregatedDiscovery, legacyCore, legacyGroup, legacyGroupList, resourceList, wantsAggregated } from './discovery.js';
import { jsonResponse } from './negotiate.js';
import { resolveResourcePath, splitGroupVersion } from './paths.js';
import { requestContext, type RequestContext } from './request-context.js';
import type { Authorizer } from './authz/authorizer.js';
import { admitRequest } from './authz/gate.js';
import { requestInfo } from './authz/request-info.js';
import { routeResource, type RouteDeps } from './routes.js';

export interface ApiServerDeps extends Omit<RouteDeps, 'objects'> {
  registry: Registry;
  objects: ObjectStore;
  authenticateToken: TokenAuthenticator;
  isReady(): boolean;
  /** Who may do what (system:masters, Node, RBAC); without one, authenticated users may do everything, anyone the health checks. */
  authorizer?: Authorizer;
  /** Routes with their own authentication, mounted before the common one (joining agents). */
  publicRoutes?: (app: Hono<{ Bindings: Bindings; Variables: { user: UserInfo } }>) => void;
  /** Extra routes mounted before the resource routes (OpenAPI, reviews, ...). */
  extraRoutes?: (app: Hono<{ Bindings: Bindings; Variables: { user: UserInfo } }>) => void;
}

const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

/** Without an authorizer: what an authenticated user asks, and the public paths for anyone. */
const authenticatedOnly: Authorizer = {
  authorize: (user, info) =>
    user.groups.includes('system:authenticated') || (!info.isResourceRequest && PUBLIC_PATHS.has(info.path))
      ? { decision: 'allow' }
      : { decision: 'no-opinion' },
};

export function errorResponse(err: unknown): Response {
  if (err instanceof ApiError) return jsonResponse(err.toStatus(), err.code);
  log.error({ err }, 'request failed');
  return jsonResponse(internalError(err instanceof Error ? err.message : String(err)).toStatus(), 500);
}

/** Why a request target's path is refused (an invalid escape, a `.` or `..` segment), or undefined. */
export function badRequestPath(target: string): ApiError | undefined {
  const path = target.split('?')[0]!;
  for (const segment of path.split('/')) {
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      return badRequest(`invalid URL escape in the request path ${JSON.stringify(path)}`);
    }
    if (name === '.' || name === '..') return badRequest(`Name parameter invalid: "${name}": may not be '${name}'`);
  }
  return undefined;
}

export function createApp(deps: ApiServerDeps): Hono<{ Bindings: Bindings; Variables: { user: UserInfo } }> {
  const app = new Hono<{ Bindings: Bindings; Variables: { user: UserInfo } }>();
  app.onError((err) => errorResponse(err));
  app.notFound((c) =>
    jsonResponse(
      new ApiError(404, 'NotFound', `the server could not find the requested resource (${c.req.method} ${c.req.path})`).toStatus(),
      404,
    ),
  );

  // The path as the client sent it, before anything routes on it: Node's URL parsing would resolve
  // `..` and `%2e%2e` segments, serving another resource than the one named.
  app.use('*', async (c, next) => {
    const refused = badRequestPath(c.env?.incoming?.url ?? new URL(c.req.url).pathname);
    return refused ? errorResponse(refused) : next();
  });
  const gate = { authenticateToken: deps.authenticateToken, authorizer: deps.authorizer ?? authenticatedOnly };
  deps.publicRoutes?.(app);
  // Authentication (or system:anonymous), impersonation, authorization: 401 or 403 before any handler.
  app.use('*', async (c, next) => {
    try {
      c.set('user', await admitRequest(gate, c.req.raw, c.env, requestInfo(c.req.method, new URL(c.req.url))));
    } catch (err) {
      return errorResponse(err);
    }
    return next();
  });

  const health = (c: Context) => (deps.isReady() ? c.text('ok') : c.text('[-]datastore not ready\nhealthz check failed', 500));
  app.get('/healthz', health);
  app.get('/livez', (c) => c.text('ok'));
  app.get('/readyz', health);
  app.get('/version', () =>
    jsonResponse({
      ...KUBERNETES_VERSION,
      gitCommit: '',
      gitTreeState: 'clean',
      buildDate: '',
      goVersion: `node${process.versions.node}`,
      compiler: 'skiff',
      platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
    }),
  );

  app.get('/api', (c) => {
    const agg = wantsAggregated(c.req.header('accept') ?? null);
    return agg ? aggregatedDiscovery(deps.registry, true, agg) : legacyCore(c.req.header('host') ?? '');
  });
  app.get('/apis', (c) => {
    const agg = wantsAggregated(c.req.header('accept') ?? null);
    return agg ? aggregatedDiscovery(deps.registry, false, agg) : legacyGroupList(deps.registry);
  });
  app.get('/api/v1', () => resourceList(deps.registry, '', 'v1')!);
  app.get('/apis/:group', (c) => legacyGroup(deps.registry, c.req.param('group')) ?? c.notFound());
  app.get('/apis/:group/:version', (c) => resourceList(deps.registry, c.req.param('group'), c.req.param('version')) ?? c.notFound());

  deps.extraRoutes?.(app);

  const resource = async (c: Context<{ Bindings: Bindings; Variables: { user: UserInfo } }>) => {
    const url = new URL(c.req.url);
    const gv = splitGroupVersion(url.pathname);
    if (!gv) return c.notFound();
    const path = resolveResourcePath(deps.registry, gv);
    const ctx: RequestContext = requestContext(c.req.raw, url, path, c.get('user'));
    return routeResource(ctx, deps);
  };
  app.all('/api/*', resource);
  app.all('/apis/*', resource);
  return app;
}
