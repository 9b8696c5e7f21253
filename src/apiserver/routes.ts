// Dispatch of a resolved resource request to the handler for its verb and subresource.
import { ApiError } from '../k8s/errors.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import type { KObject } from '../k8s/object.js';
import { queryBool } from './query.js';
import type { RequestContext } from './request-context.js';
import {
  createResponse,
  deleteCollectionResponse,
  deleteResponse,
  listResponse,
  methodNotAllowed,
  respondObject,
  updateResponse,
} from './resource-handlers.js';
import { watchResponse, type WatchSettings } from './watch-handler.js';

/** A handler for a subresource with its own semantics (pods/binding, serviceaccounts/token, ...). */
export type SubresourceHandler = (ctx: RequestContext) => Promise<Response>;

export interface RouteDeps {
  objects: ObjectStore;
  checkFields(ctx: RequestContext, obj: KObject): void;
  patch?: (ctx: RequestContext, toStatus: boolean) => Promise<Response>;
  scale?: SubresourceHandler;
  /** Keyed by `<plural>/<subresource>`, or `<plural>` for virtual kinds (reviews). */
  special?: Record<string, SubresourceHandler>;
  watch?: WatchSettings;
}

const isWatch = (ctx: RequestContext) => ctx.path.watchPath || queryBool(ctx.query, 'watch') === true;

export async function routeResource(ctx: RequestContext, deps: RouteDeps): Promise<Response> {
  const { def, name, subresource } = ctx.path;
  const method = ctx.req.method;
  const special = deps.special?.[subresource ? `${def.plural}/${subresource}` : def.plural];
  if (special && (subresource || def.virtual)) return special(ctx);
  if (def.virtual) throw methodNotAllowed(ctx);

  if (subresource === undefined || subresource === 'status') {
    const toStatus = subresource === 'status';
    if (toStatus && (!def.statusSubresource || name === undefined)) throw notFoundSub(ctx);
    if (name === undefined) {
      if (method === 'GET') return isWatch(ctx) ? watchResponse(ctx, deps.objects, deps.watch) : listResponse(ctx, deps);
      if (method === 'POST') return createResponse(ctx, deps);
      if (method === 'DELETE') return deleteCollectionResponse(ctx, deps);
      throw methodNotAllowed(ctx);
    }
    if (method === 'GET')
      return isWatch(ctx)
        ? watchResponse(ctx, deps.objects, deps.watch)
        : respondObject(ctx, await deps.objects.getShared(def, ctx.path.namespace, name));
    if (method === 'PUT') return updateResponse(ctx, deps, toStatus);
    if (method === 'PATCH' && deps.patch) return deps.patch(ctx, toStatus);
    if (method === 'DELETE' && !toStatus) return deleteResponse(ctx, deps);
    throw methodNotAllowed(ctx);
  }
  if (subresource === 'scale' && def.scale && name !== undefined && deps.scale) return deps.scale(ctx);
  throw notFoundSub(ctx);
}

function notFoundSub(ctx: RequestContext): ApiError {
  const sub = ctx.path.subresource ? `/${ctx.path.subresource}` : '';
  return new ApiError(404, 'NotFound', `the server could not find the requested resource (${ctx.req.method} ${ctx.path.def.plural}${sub})`);
}
