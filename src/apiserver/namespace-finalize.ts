// namespaces/finalize: how the namespace controller, having emptied a terminating namespace,
// removes its entry from spec.finalizers; with none left the namespace is gone.
import { badRequest } from '../k8s/errors.js';
import type { KObject } from '../k8s/object.js';
import type { Registry } from '../api/registry/registry.js';
import { deletionFinished } from '../api/storage/pending-deletion.js';
import { retryOnModified } from '../api/storage/errors.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { readObject } from './body.js';
import { jsonResponse } from './negotiate.js';
import { methodNotAllowed } from './request-context.js';
import type { SubresourceHandler } from './routes.js';

export function namespaceFinalizeHandler(registry: Registry, objects: ObjectStore): SubresourceHandler {
  const namespaces = registry.byResource('', 'v1', 'namespaces')!;
  return async (ctx) => {
    if (ctx.req.method !== 'PUT') throw methodNotAllowed(ctx);
    const body = await readObject(ctx.req);
    if (body.kind && body.kind !== 'Namespace') throw badRequest(`expected a Namespace, got a ${body.kind}`);
    const finalizers = (body as { spec?: { finalizers?: string[] } }).spec?.finalizers ?? [];
    const result = await retryOnModified(async () => {
      const current = await objects.get(namespaces, undefined, ctx.path.name!);
      const next = { ...current, spec: { ...(current as { spec?: object }).spec, finalizers } } as KObject;
      if (ctx.dryRun) return next;
      return deletionFinished(namespaces, next) ? objects.remove(namespaces, current) : objects.replaceAsIs(namespaces, current, next);
    });
    return jsonResponse(result, 200);
  };
}
