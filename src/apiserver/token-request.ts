// serviceaccounts/<name>/token: TokenRequest, which `kubectl create token` and pods' projected
// volumes use to get a signed token for a service account.
import type { TokenRequest } from 'kubernetes-types/authentication/v1.js';
import { badRequest, invalid } from '../k8s/errors.js';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { readObject } from './body.js';
import { jsonResponse } from './negotiate.js';
import { methodNotAllowed } from './request-context.js';
import type { SubresourceHandler } from './routes.js';
import { MIN_EXPIRATION_SECONDS, type ServiceAccountTokens } from './service-account-tokens.js';

const MAX_EXPIRATION_SECONDS = 2 ** 32;

export function tokenRequestHandler(registry: Registry, objects: ObjectStore, tokens: ServiceAccountTokens): SubresourceHandler {
  const serviceAccounts = registry.byResource('', 'v1', 'serviceaccounts')!;
  const pods = registry.byResource('', 'v1', 'pods')!;
  return async (ctx) => {
    if (ctx.req.method !== 'POST') throw methodNotAllowed(ctx);
    const body = (await readObject(ctx.req)) as unknown as TokenRequest;
    if (body.kind && body.kind !== 'TokenRequest') throw badRequest(`expected a TokenRequest, got a ${body.kind}`);
    const name = ctx.path.name!;
    const sa = await objects.get(serviceAccounts, ctx.path.namespace, name);
    const spec = body.spec ?? { audiences: [] };
    const seconds = spec.expirationSeconds ?? 3600;
    if (seconds < MIN_EXPIRATION_SECONDS || seconds > MAX_EXPIRATION_SECONDS) {
      throw invalid('TokenRequest', 'authentication.k8s.io', name, [
        {
          field: 'spec.expirationSeconds',
          type: 'FieldValueInvalid',
          detail: `Invalid value: ${seconds}: may not specify a duration less than 10 minutes`,
        },
      ]);
    }
    const bound = spec.boundObjectRef;
    if (bound) {
      if (bound.kind !== 'Pod' && bound.kind !== 'Secret') throw badRequest(`cannot bind token to object of type ${bound.kind}`);
      if (bound.kind === 'Pod') {
        const pod = await objects.get(pods, ctx.path.namespace, bound.name ?? '');
        if (bound.uid && bound.uid !== pod.metadata.uid)
          throw badRequest(`the UID in the bound object reference (${bound.uid}) does not match the UID in record (${pod.metadata.uid})`);
      }
    }
    const issued = await tokens.issue({
      namespace: sa.metadata.namespace!,
      name,
      uid: sa.metadata.uid,
      audiences: spec.audiences,
      expirationSeconds: seconds,
      boundObject: bound ? { kind: bound.kind!, name: bound.name ?? '', uid: bound.uid ?? '' } : undefined,
    });
    return jsonResponse(
      {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace: sa.metadata.namespace, creationTimestamp: null },
        spec: { ...spec, audiences: issued.audiences, expirationSeconds: seconds },
        status: { token: issued.token, expirationTimestamp: issued.expirationTimestamp },
      },
      201,
    );
  };
}
