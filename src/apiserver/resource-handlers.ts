// The REST verbs on a resource: get, list, create, update, delete, deletecollection. Patches,
// watches and subresources live in their own modules; this file dispatches to them.
import type { DeleteOptions } from 'kubernetes-types/meta/v1.js';
import { ApiError, badRequest, invalid } from '../k8s/errors.js';
import type { KObject, StoredObject } from '../k8s/object.js';
import { apiVersionOf } from '../k8s/object.js';
import { deleteLatest } from '../api/storage/deletion.js';
import { parseLimit, type ListQuery } from '../api/storage/filter.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { decodeAsGo } from '../api/openapi/go-decoding.js';
import { definitions } from '../api/openapi/schemas.js';
import { parseStructured, readBody, readObject, mediaType } from './body.js';
import { listJson, objectJson } from '../api/storage/shared-json.js';
import { jsonResponse, jsonTextResponse, representation } from './negotiate.js';
import { queryBool } from './query.js';
import { methodNotAllowed, warningHeaders, writeContext, type RequestContext } from './request-context.js';
import { partialMetadata, toTable } from './table.js';

export interface ResourceDeps {
  objects: ObjectStore;
  /** Drops (or, under Strict, rejects) fields the kind's schema does not know. */
  checkFields(ctx: RequestContext, obj: KObject): void;
}

export function respondObject(ctx: RequestContext, obj: StoredObject, status = 200): Response {
  const rep = representation(ctx.req.headers.get('accept'));
  if (rep === 'object') return jsonTextResponse(objectJson(obj), status, warningHeaders(ctx));
  const body =
    rep === 'table'
      ? toTable(ctx.path.def, [obj], { resourceVersion: obj.metadata.resourceVersion, includeObject: ctx.query.get('includeObject') })
      : partialMetadata(obj);
  return jsonResponse(body, status, warningHeaders(ctx));
}

export function listQuery(q: URLSearchParams): ListQuery {
  const rvm = q.get('resourceVersionMatch') ?? undefined;
  if (rvm !== undefined && rvm !== 'Exact' && rvm !== 'NotOlderThan')
    throw badRequest(`resourceVersionMatch must be Exact or NotOlderThan, not "${rvm}"`);
  const rv = q.get('resourceVersion') ?? undefined;
  if (rv !== undefined && rv !== '' && !/^\d+$/.test(rv))
    throw badRequest(`invalid resourceVersion "${rv}": must be a non-negative integer`);
  return {
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
    limit: parseLimit(q.get('limit') ?? undefined),
    continue: q.get('continue') || undefined,
    resourceVersion: rv,
    resourceVersionMatch: rvm,
  };
}

export async function listResponse(ctx: RequestContext, deps: ResourceDeps): Promise<Response> {
  const { def, namespace } = ctx.path;
  const result = await deps.objects.listShared(def, namespace, listQuery(ctx.query));
  const rep = representation(ctx.req.headers.get('accept'));
  if (rep === 'table') {
    return jsonResponse(
      toTable(def, result.items, {
        resourceVersion: result.resourceVersion,
        continue: result.continue,
        includeObject: ctx.query.get('includeObject'),
      }),
    );
  }
  const metadata = { resourceVersion: result.resourceVersion, ...(result.continue ? { continue: result.continue } : {}) };
  if (rep === 'metadata') {
    return jsonResponse({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata,
      items: result.items.map(partialMetadata),
    });
  }
  return jsonTextResponse(listJson(`${def.kind}List`, apiVersionOf(def.group, def.version), metadata, result.items));
}

/** The body's apiVersion, kind, namespace and name must agree with the URL. */
export function checkIdentity(ctx: RequestContext, obj: KObject, name?: string): void {
  const { def, namespace } = ctx.path;
  const expected = apiVersionOf(def.group, def.version);
  if (obj.apiVersion !== undefined && obj.apiVersion !== expected) {
    throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`);
  }
  if (obj.kind !== undefined && obj.kind !== def.kind) {
    throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${def.kind})`);
  }
  const bodyNs = obj.metadata?.namespace;
  if (def.namespaced && bodyNs && namespace && bodyNs !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if (name !== undefined && obj.metadata?.name && obj.metadata.name !== name) {
    throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
  }
  if (name === undefined && !obj.metadata?.name && !obj.metadata?.generateName) {
    throw invalid(def.kind, def.group, '', [
      { field: 'metadata.name', type: 'FieldValueRequired', detail: 'Required value: name or generateName is required' },
    ]);
  }
}

export async function createResponse(ctx: RequestContext, deps: ResourceDeps): Promise<Response> {
  const obj = await readObject(ctx.req);
  deps.checkFields(ctx, obj); // decoding first, as upstream: a mistyped field is a 400 before anything reads it
  checkIdentity(ctx, obj);
  const created = await deps.objects.create(ctx.path.def, ctx.path.namespace, obj, writeContext(ctx));
  return respondObject(ctx, created, 201);
}

export async function updateResponse(ctx: RequestContext, deps: ResourceDeps, toStatus = false): Promise<Response> {
  const { def, namespace, name } = ctx.path;
  const obj = await readObject(ctx.req);
  deps.checkFields(ctx, obj);
  checkIdentity(ctx, obj, name);
  const updated = await deps.objects.update(def, namespace, name!, obj, {
    ...writeContext(ctx, { subresource: toStatus ? 'status' : undefined }),
    toStatus,
  });
  return respondObject(ctx, updated);
}

const DELETE_OPTIONS = 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions';

async function deleteOptions(ctx: RequestContext): Promise<DeleteOptions> {
  const bytes = await readBody(ctx.req);
  let opts: DeleteOptions = {};
  if (bytes.byteLength > 0) {
    const parsed = parseStructured(bytes, mediaType(ctx.req.headers.get('content-type')) || 'application/json', 'the DeleteOptions body');
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw badRequest('the DeleteOptions body must be an object');
    decodeAsGo(parsed as Record<string, unknown>, definitions[DELETE_OPTIONS], 'DeleteOptions', 'v1');
    opts = parsed as DeleteOptions;
  }
  const q = ctx.query;
  const grace = q.get('gracePeriodSeconds');
  if (grace !== null) {
    if (!/^-?\d+$/.test(grace)) throw badRequest(`invalid gracePeriodSeconds "${grace}"`);
    opts = { ...opts, gracePeriodSeconds: Number(grace) };
  }
  const orphan = queryBool(q, 'orphanDependents');
  if (orphan !== undefined) opts = { ...opts, orphanDependents: orphan };
  const policy = q.get('propagationPolicy') ?? opts.propagationPolicy;
  if (policy !== undefined && !['Background', 'Foreground', 'Orphan'].includes(policy)) {
    throw badRequest(`propagationPolicy must be one of Background, Foreground or Orphan, not "${policy}"`);
  }
  if (opts.orphanDependents !== undefined && policy === undefined) opts.propagationPolicy = opts.orphanDependents ? 'Orphan' : 'Background';
  else if (policy !== undefined) opts.propagationPolicy = policy;
  return opts;
}

export async function deleteResponse(ctx: RequestContext, deps: ResourceDeps): Promise<Response> {
  const { def, namespace, name } = ctx.path;
  const opts = await deleteOptions(ctx);
  const current = await deps.objects.get(def, namespace, name!);
  const dryRun = ctx.dryRun || (opts.dryRun ?? []).includes('All');
  const outcome = await deleteLatest(deps.objects, def, current, opts, { dryRun });
  return respondObject(ctx, outcome.object, outcome.pending ? 202 : 200);
}

export async function deleteCollectionResponse(ctx: RequestContext, deps: ResourceDeps): Promise<Response> {
  const { def, namespace } = ctx.path;
  const opts = await deleteOptions(ctx);
  const listed = await deps.objects.list(def, namespace, { ...listQuery(ctx.query), limit: undefined, continue: undefined });
  const dryRun = ctx.dryRun || (opts.dryRun ?? []).includes('All');
  const items: StoredObject[] = [];
  for (const obj of listed.items) {
    try {
      items.push((await deleteLatest(deps.objects, def, obj, opts, { dryRun })).object);
    } catch (err) {
      // Gone in the meantime: that is what was asked for.
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
  return jsonResponse({
    kind: `${def.kind}List`,
    apiVersion: apiVersionOf(def.group, def.version),
    metadata: { resourceVersion: deps.objects.currentResourceVersion() },
    items,
  });
}

export { methodNotAllowed };
