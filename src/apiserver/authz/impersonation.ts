// Impersonation, as upstream's WithImpersonation filter: Impersonate-User (a user, or a service
// account's `system:serviceaccount:<ns>:<name>`), Impersonate-Group, Impersonate-Uid and
// Impersonate-Extra-<key> headers make the request act as someone else, each one allowed only by the
// `impersonate` verb on users, groups, serviceaccounts, uids or userextras/<key>.
import { ApiError, internalError } from '../../k8s/errors.js';
import type { UserInfo } from '../authn.js';
import { type Authorizer, forbidden } from './authorizer.js';
import { resourceAttributes } from './rbac/rules.js';
import type { RequestInfo } from './request-info.js';

export const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
const AUTHENTICATED = 'system:authenticated';
const UNAUTHENTICATED = 'system:unauthenticated';
const EXTRA_PREFIX = 'impersonate-extra-';

/** The request's headers as name (lower case) and every value, one per header line. */
export type HeaderLines = [string, string][];

/** Header lines from Node's raw headers (repeated headers kept apart), else from a web Headers. */
export function headerLines(headers: Headers, rawHeaders?: string[]): HeaderLines {
  if (rawHeaders) {
    const out: HeaderLines = [];
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) out.push([rawHeaders[i]!.toLowerCase(), rawHeaders[i + 1]!]);
    return out;
  }
  // Repeated headers arrive joined by ", " here; group names rarely hold that.
  return [...headers.entries()].flatMap(([k, v]) =>
    k.startsWith('impersonate-') ? v.split(', ').map((x) => [k, x] as [string, string]) : [],
  );
}

/** `system:serviceaccount:<ns>:<name>` as namespace and name, or undefined for any other user name. */
export function serviceAccountOf(username: string): { namespace: string; name: string } | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  return m ? { namespace: m[1]!, name: m[2]! } : undefined;
}

export const serviceAccountGroups = (namespace: string) => ['system:serviceaccounts', `system:serviceaccounts:${namespace}`];

/** The user as whom the request acts; the requester when it impersonates no one. Throws 403 when not allowed. */
export async function impersonate(lines: HeaderLines, requester: UserInfo, authorizer: Authorizer): Promise<UserInfo> {
  const values = (name: string) => lines.filter(([k]) => k === name).map(([, v]) => v);
  const requestedUser = values('impersonate-user')[0] ?? '';
  const groupsAsked = values('impersonate-group');
  const uid = values('impersonate-uid')[0] ?? '';
  const extras = lines
    .filter(([k]) => k.startsWith(EXTRA_PREFIX))
    .map(([k, v]) => [decodeURIComponent(k.slice(EXTRA_PREFIX.length)).toLowerCase(), v] as const);
  if (!requestedUser) {
    if (groupsAsked.length || extras.length || uid)
      throw internalError('requested impersonation of groups, extra or uid without impersonating a user');
    return requester;
  }

  const checks: RequestInfo[] = [];
  const check = (a: Omit<Parameters<typeof resourceAttributes>[0], 'verb'>) =>
    checks.push(resourceAttributes({ apiVersion: 'v1', ...a, verb: 'impersonate' }));
  let groups: string[] = [];
  const sa = serviceAccountOf(requestedUser);
  if (sa) {
    check({ resource: 'serviceaccounts', namespace: sa.namespace, name: sa.name });
    if (!groupsAsked.length) groups = serviceAccountGroups(sa.namespace);
  } else check({ resource: 'users', name: requestedUser });
  for (const g of groupsAsked) {
    check({ resource: 'groups', name: g });
    groups.push(g);
  }
  const extra: Record<string, string[]> = {};
  for (const [key, value] of extras) {
    check({ apiGroup: 'authentication.k8s.io', resource: 'userextras', subresource: key, name: value });
    (extra[key] ??= []).push(value);
  }
  if (uid) check({ apiGroup: 'authentication.k8s.io', resource: 'uids', name: uid });

  for (const info of checks) {
    const decision = await authorizer.authorize(requester, info);
    if (decision.decision !== 'allow') throw forbidden(requester, info, decision.reason);
  }

  if (requestedUser !== ANONYMOUS.username) {
    if (!groups.includes(AUTHENTICATED) && !groups.includes(UNAUTHENTICATED)) groups.push(AUTHENTICATED);
  } else if (!groups.includes(UNAUTHENTICATED)) groups.push(UNAUTHENTICATED);
  return { username: requestedUser, groups, ...(uid ? { uid } : {}), ...(extras.length ? { extra } : {}) };
}

/** An anonymous request that is not allowed is told to authenticate, not that it is forbidden. */
export const unauthorized = () => new ApiError(401, 'Unauthorized', 'Unauthorized');
