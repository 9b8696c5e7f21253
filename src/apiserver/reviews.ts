// Review kinds: objects that are created to ask a question and answered at once, never stored.
// Until RBAC arrives every authenticated user may do everything, and the answers say exactly that.
import { badRequest } from '../k8s/errors.js';
import type { KObject } from '../k8s/object.js';
import type { TokenAuthenticator, UserInfo } from './authn.js';
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
  checkIdentity(ctx, { ...obj, metadata: { ...obj.metadata, generateName: 'review' } });
  return obj;
}

const everything = { allowed: true, reason: 'skiff has no authorization policy yet: every authenticated user may do everything' };

function userInfoJSON(user: UserInfo) {
  return {
    username: user.username,
    ...(user.uid ? { uid: user.uid } : {}),
    groups: user.groups,
    ...(user.extra ? { extra: user.extra } : {}),
  };
}

export function reviewHandlers(authenticateToken: TokenAuthenticator): Record<string, SubresourceHandler> {
  return {
    selfsubjectaccessreviews: async (ctx) => answer(ctx, await review(ctx), everything),
    subjectaccessreviews: async (ctx) => answer(ctx, await review(ctx), everything),
    selfsubjectrulesreviews: async (ctx) =>
      answer(ctx, await review(ctx), {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        incomplete: false,
      }),
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
