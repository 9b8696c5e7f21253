// Every request's way in: who it is (authentication, else system:anonymous), whom it acts as
// (impersonation), and whether that user may do what it asks (the authorizer chain). Anonymous
// requests that are not allowed get 401, others 403 in upstream's words.
import { ApiError } from '../../k8s/errors.js';
import { authenticate, type Bindings, type TokenAuthenticator, type UserInfo } from '../authn.js';
import { type Authorizer, forbidden } from './authorizer.js';
import { ANONYMOUS, headerLines, impersonate, unauthorized } from './impersonation.js';
import type { RequestInfo } from './request-info.js';

export interface GateDeps {
  authenticateToken: TokenAuthenticator;
  authorizer: Authorizer;
}

/** The user the request acts as, once allowed; throws 401 or 403 otherwise. */
export async function admitRequest(deps: GateDeps, req: Request, env: Bindings | undefined, info: RequestInfo): Promise<UserInfo> {
  const authenticated = await authenticate(req, env, deps.authenticateToken);
  try {
    const user = await impersonate(headerLines(req.headers, env?.incoming?.rawHeaders), authenticated ?? ANONYMOUS, deps.authorizer);
    const decision = await deps.authorizer.authorize(user, info);
    if (decision.decision !== 'allow') throw forbidden(user, info, decision.reason);
    return user;
  } catch (err) {
    if (!authenticated && err instanceof ApiError) throw unauthorized();
    throw err;
  }
}
