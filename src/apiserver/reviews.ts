// Review kinds: objects that are created to ask a question and answered at once, never stored.
// Access reviews ask the authorizer chain (as the requester, or as the subject a SubjectAccessReview
// names); rules reviews list what the chain's authorizers can enumerate; SelfSubjectReview and
// TokenReview say who someone is.
import { badRequest, invalid, type FieldError } from '../k8s/errors.js';
import type { KObject } from '../k8s/object.js';
import type { TokenAuthenticator, UserInfo } from './authn.js';
import type { Authorizer } from './authz/authorizer.js';
import type { RequestInfo } from './authz/request-info.js';
import { decodeAsGo } from '../api/openapi/go-decoding.js';
import { definitions } from '../api/openapi/schemas.js';
import { readObject } from './body.js';
import { jsonResponse } from './negotiate.js';
import type { RequestContext } from './request-context.js';
import type { SubresourceHandler } from './routes.js';
import { checkIdentity } from './resource-handlers.js';

function answer(ctx: RequestContext, obj: KObject, status: Record<string, unknown>): Response {
  const { def } = ctx.path;
  return jsonResponse({ ...obj, apiVersion: `${def.group}/${def.version}`, kind: def.kind, metadata: obj.metadata ?? {}, status }, 201);
}

async function review(ctx: RequestContext): Promise<KObject> {
  if (ctx.req.method !== 'POST') throw badRequest(`${ctx.path.def.plural} can only be created`);
  const obj = await readObject(ctx.req);
  const { def } = ctx.path;
  // Typed as Go decodes it: a token or an attribute of the wrong type is a 400, not a question asked.
  if (def.schemaName) decodeAsGo(obj, definitions[def.schemaName], def.kind, def.version);
  checkIdentity(ctx, { ...obj, metadata: { ...obj.metadata, generateName: 'review' } });
  return obj;
}

function userInfoJSON(user: UserInfo) {
  return {
    username: user.username,
    ...(user.uid ? { uid: user.uid } : {}),
    groups: user.groups,
    ...(user.extra ? { extra: user.extra } : {}),
  };
}

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}
interface AccessReviewSpec {
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: { path?: string; verb?: string };
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

const fieldInvalid = (field: string, value: unknown, why: string): FieldError => ({
  field,
  type: 'FieldValueInvalid',
  detail: `Invalid value: ${JSON.stringify(value ?? null)}: ${why}`,
});

/** The request the review asks about, or the spec's errors as upstream's validation words them. */
function attributesOf(spec: AccessReviewSpec, errors: FieldError[]): RequestInfo {
  if (spec.resourceAttributes && spec.nonResourceAttributes)
    errors.push(
      fieldInvalid('spec.nonResourceAttributes', spec.nonResourceAttributes, 'cannot be specified in combination with resourceAttributes'),
    );
  if (!spec.resourceAttributes && !spec.nonResourceAttributes)
    errors.push(
      fieldInvalid('spec.resourceAttributes', null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified'),
    );
  const r = spec.resourceAttributes;
  if (r)
    return {
      isResourceRequest: true,
      verb: r.verb ?? '',
      path: '',
      apiGroup: r.group ?? '',
      apiVersion: r.version ?? '',
      resource: r.resource ?? '',
      subresource: r.subresource ?? '',
      namespace: r.namespace ?? '',
      name: r.name ?? '',
    };
  const n = spec.nonResourceAttributes ?? {};
  const empty = { apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
  return { isResourceRequest: false, verb: n.verb ?? '', path: n.path ?? '', ...empty };
}

export function reviewHandlers(authenticateToken: TokenAuthenticator, authorizer: Authorizer): Record<string, SubresourceHandler> {
  /** Asks the chain as `user`; `check` adds the kind's own spec rules. */
  const accessReview =
    (
      who: (ctx: RequestContext, spec: AccessReviewSpec) => UserInfo,
      check?: (ctx: RequestContext, obj: KObject, errors: FieldError[]) => void,
    ) =>
    async (ctx: RequestContext) => {
      const obj = await review(ctx);
      const spec = (obj.spec ?? {}) as AccessReviewSpec;
      const errors: FieldError[] = [];
      const info = attributesOf(spec, errors);
      check?.(ctx, obj, errors);
      if (errors.length) throw invalid(ctx.path.def.kind, ctx.path.def.group, obj.metadata?.name ?? '', errors);
      const decision = await authorizer.authorize(who(ctx, spec), info);
      return answer(ctx, obj, {
        allowed: decision.decision === 'allow',
        ...(decision.decision === 'deny' ? { denied: true } : {}),
        ...(decision.reason ? { reason: decision.reason } : {}),
      });
    };
  const subject = (_ctx: RequestContext, spec: AccessReviewSpec): UserInfo => ({
    username: spec.user ?? '',
    groups: spec.groups ?? [],
    ...(spec.uid ? { uid: spec.uid } : {}),
    ...(spec.extra ? { extra: spec.extra } : {}),
  });
  const needsSubject = (_ctx: RequestContext, obj: KObject, errors: FieldError[]) => {
    const spec = (obj.spec ?? {}) as AccessReviewSpec;
    if (!spec.user && !spec.groups?.length)
      errors.push(fieldInvalid('spec.user', spec.user ?? '', 'at least one of user or group must be specified'));
  };

  return {
    selfsubjectaccessreviews: accessReview((ctx) => ctx.user),
    subjectaccessreviews: accessReview(subject, needsSubject),
    localsubjectaccessreviews: accessReview(subject, (ctx, obj, errors) => {
      needsSubject(ctx, obj, errors);
      const namespace = ctx.path.namespace ?? '';
      const spec = (obj.spec ?? {}) as AccessReviewSpec;
      if (spec.nonResourceAttributes)
        errors.push(fieldInvalid('spec.nonResourceAttributes', spec.nonResourceAttributes, 'disallowed on this kind of request'));
      if (obj.metadata?.namespace !== undefined && obj.metadata.namespace !== namespace)
        throw badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace}`);
      if (spec.resourceAttributes && (spec.resourceAttributes.namespace ?? '') !== namespace)
        errors.push(
          fieldInvalid('spec.resourceAttributes.namespace', spec.resourceAttributes.namespace ?? '', 'must match metadata.namespace'),
        );
    }),
    selfsubjectrulesreviews: async (ctx) => {
      const obj = await review(ctx);
      const namespace = (obj.spec as { namespace?: string } | undefined)?.namespace ?? '';
      const rules = authorizer.rulesFor?.(ctx.user, namespace) ?? { resourceRules: [], nonResourceRules: [], incomplete: true, errors: [] };
      return answer(ctx, obj, {
        resourceRules: rules.resourceRules,
        nonResourceRules: rules.nonResourceRules,
        incomplete: rules.incomplete,
        ...(rules.errors.length ? { evaluationError: rules.errors.length === 1 ? rules.errors[0] : `[${rules.errors.join(', ')}]` } : {}),
      });
    },
    selfsubjectreviews: async (ctx) => answer(ctx, await review(ctx), { userInfo: userInfoJSON(ctx.user) }),
    tokenreviews: async (ctx) => {
      const obj = await review(ctx);
      const token = (obj.spec as { token?: string } | undefined)?.token;
      if (!token) throw badRequest('spec.token is required');
      const user = await authenticateToken(token).catch(() => undefined);
      return answer(
        ctx,
        obj,
        user ? { authenticated: true, user: userInfoJSON(user) } : { authenticated: false, error: 'invalid bearer token' },
      );
    },
  };
}
