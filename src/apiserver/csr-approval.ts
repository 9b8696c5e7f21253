// certificatesigningrequests/<name>/approval: where `kubectl certificate approve|deny` (and the
// approving controller) PUT a request with its Approved or Denied condition; only those conditions
// are taken from the body (certificate-signing admission), under the body's resourceVersion.
import { badRequest } from '../k8s/errors.js';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { readObject } from './body.js';
import { checkIdentity, respondObject } from './resource-handlers.js';
import { methodNotAllowed, writeContext } from './request-context.js';
import type { SubresourceHandler } from './routes.js';

export function csrApprovalHandler(registry: Registry, objects: ObjectStore): SubresourceHandler {
  const csrs = registry.byResource('certificates.k8s.io', 'v1', 'certificatesigningrequests')!;
  return async (ctx) => {
    const name = ctx.path.name;
    if (!name) throw methodNotAllowed(ctx);
    if (ctx.req.method === 'GET') return respondObject(ctx, await objects.get(csrs, undefined, name));
    if (ctx.req.method !== 'PUT') throw methodNotAllowed(ctx);
    const body = await readObject(ctx.req);
    if (body.kind && body.kind !== 'CertificateSigningRequest')
      throw badRequest(`expected a CertificateSigningRequest, got a ${body.kind}`);
    checkIdentity(ctx, body, name);
    const updated = await objects.update(csrs, undefined, name, body, {
      ...writeContext(ctx, { subresource: 'approval' }),
      toStatus: true,
    });
    return respondObject(ctx, updated);
  };
}
