// PATCH in its four forms: JSON patch, JSON merge patch, strategic merge patch, and server-side apply
// (which may also create). Each patch applies to the latest object, retried on concurrent writes.
import { ApiError, badRequest, conflict } from '../k8s/errors.js';
import type { KObject, StoredObject } from '../k8s/object.js';
import type { Patchers } from '../api/patch/index.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { MODIFIED } from '../api/storage/errors.js';
import { mediaType, parseStructured, readBody } from './body.js';
import { queryBool } from './query.js';
import { writeContext, type RequestContext } from './request-context.js';
import { checkIdentity, respondObject } from './resource-handlers.js';

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

function unsupported(type: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')} (got ${type || 'none'})`,
  );
}

export interface PatchDeps {
  objects: ObjectStore;
  patchers: Patchers;
  checkFields(ctx: RequestContext, obj: KObject): void;
}

export async function patchResponse(ctx: RequestContext, deps: PatchDeps, toStatus: boolean): Promise<Response> {
  const { def, namespace, name } = ctx.path;
  const type = mediaType(ctx.req.headers.get('content-type'));
  if (!PATCH_TYPES.includes(type)) throw unsupported(type);
  const patch = parseStructured(await readBody(ctx.req), type.endsWith('yaml') ? 'application/yaml' : 'application/json', 'the patch');

  if (type === 'application/apply-patch+yaml') {
    if (!ctx.fieldManager) throw badRequest('PATCH request for server-side apply requires a fieldManager query parameter');
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
      throw badRequest('the applied configuration must be an object');
    const force = queryBool(ctx.query, 'force') === true;
    const applied = patch as KObject;
    deps.checkFields(ctx, applied);
    checkIdentity(ctx, applied, name);
    if (!(await deps.objects.tryGet(def, namespace, name!))) {
      const obj = deps.patchers.apply({ def, live: undefined, applied, manager: ctx.fieldManager, force, toStatus });
      try {
        return respondObject(ctx, await deps.objects.create(def, namespace, obj, writeContext(ctx, { applied: true })), 201);
      } catch (err) {
        // Created by someone else in the meantime: apply to theirs, as to any live object.
        if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
      }
    }
    const updated = await deps.objects.guaranteedUpdate(
      def,
      namespace,
      name!,
      (current) => deps.patchers.apply({ def, live: current, applied, manager: ctx.fieldManager!, force, toStatus }),
      { ...writeContext(ctx, { applied: true }), toStatus },
    );
    return respondObject(ctx, updated);
  }

  const apply = (current: StoredObject): KObject => {
    let patched: KObject;
    if (type === 'application/json-patch+json') patched = deps.patchers.json(current, patch);
    else if (type === 'application/merge-patch+json') patched = deps.patchers.merge(current, patch);
    else {
      const strategic = deps.patchers.strategic(def);
      if (!strategic) throw unsupported(type);
      patched = strategic(current, patch);
    }
    const wanted = patched.metadata?.resourceVersion;
    if (wanted && wanted !== current.metadata.resourceVersion) throw conflict({ group: def.group, resource: def.plural }, name!, MODIFIED);
    if (
      patched.metadata?.name !== current.metadata.name ||
      (def.namespaced && patched.metadata?.namespace !== current.metadata.namespace)
    ) {
      throw badRequest('the patch must not change the name or namespace of the object');
    }
    deps.checkFields(ctx, patched);
    return patched;
  };
  return respondObject(
    ctx,
    await deps.objects.guaranteedUpdate(def, namespace, name!, apply, {
      ...writeContext(ctx, { subresource: toStatus ? 'status' : undefined }),
      toStatus,
    }),
  );
}
