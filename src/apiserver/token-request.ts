// serviceaccounts/<name>/token: TokenRequest, which `kubectl create token` and pods' projected
// volumes use to get a signed token for a service account, bound (boundObjectRef) to a Pod or Secret
// whose uid it then carries: the token dies with that object. A node may ask only for tokens bound
// to a pod scheduled on itself (NodeRestriction).
import type { TokenRequest } from 'kubernetes-types/authentication/v1.js';
import { ApiError, badRequest, invalid } from '../k8s/errors.js';
import type { StoredObject } from '../k8s/object.js';
import { nodeIdentity } from '../k8s/nodes.js';
import { admissionForbidden } from '../api/admission/node-restriction.js';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { readObject } from './body.js';
import { jsonResponse } from './negotiate.js';
import { methodNotAllowed } from './request-context.js';
import type { SubresourceHandler } from './routes.js';
import { MIN_EXPIRATION_SECONDS, type ServiceAccountTokens } from './service-account-tokens.js';

const MAX_EXPIRATION_SECONDS = 2 ** 32;

interface PodSpec {
  serviceAccountName?: string;
  nodeName?: string;
}

export function tokenRequestHandler(registry: Registry, objects: ObjectStore, tokens: ServiceAccountTokens): SubresourceHandler {
  const serviceAccounts = registry.byResource('', 'v1', 'serviceaccounts')!;
  const pods = registry.byResource('', 'v1', 'pods')!;
  const secrets = registry.byResource('', 'v1', 'secrets')!;
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
    let target: StoredObject | undefined;
    if (bound) {
      if (bound.kind !== 'Pod' && bound.kind !== 'Secret') throw badRequest(`cannot bind token to object of type ${bound.kind}`);
      target = await objects.get(bound.kind === 'Pod' ? pods : secrets, ctx.path.namespace, bound.name ?? '');
      if (bound.kind === 'Pod' && (target.spec as PodSpec | undefined)?.serviceAccountName !== name)
        throw badRequest(`cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`);
      if (bound.uid && bound.uid !== target.metadata.uid)
        throw new ApiError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${bound.kind} "${bound.name}": the UID in the bound object reference (${bound.uid}) ` +
            'does not match the UID in record. The object might have been deleted and then recreated',
          { name: bound.name, kind: bound.kind },
        );
    }
    const { isNode, nodeName } = nodeIdentity(ctx.user);
    if (isNode) {
      // NodeRestriction: a node asks only for tokens bound to a pod, by uid, scheduled on itself.
      const deny = (why: string) => admissionForbidden(serviceAccounts, name, why);
      if (bound?.apiVersion !== 'v1' || bound.kind !== 'Pod' || !bound.name) throw deny('node requested token not bound to a pod');
      if (!bound.uid) throw deny('node requested token with a pod binding without a uid');
      if ((target?.spec as PodSpec | undefined)?.nodeName !== nodeName)
        throw deny('node requested token bound to a pod scheduled on a different node');
    }
    const issued = await tokens.issue({
      namespace: sa.metadata.namespace!,
      name,
      uid: sa.metadata.uid,
      audiences: spec.audiences,
      expirationSeconds: seconds,
      boundObject: bound && target ? { kind: bound.kind!, name: target.metadata.name, uid: target.metadata.uid } : undefined,
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
