// Who is calling: a client certificate signed by the cluster's client CA (CN = user, O = groups),
// a bearer token (service account tokens), or, for components inside the server, an identity
// handed over with the in-process request.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Per-request bindings: the Node request when over the network, or an in-process caller's user. */
export interface Bindings {
  incoming?: IncomingMessage;
  user?: UserInfo;
}

export type TokenAuthenticator = (token: string) => Promise<UserInfo | undefined>;

function withAuthenticated(user: UserInfo): UserInfo {
  return user.groups.includes('system:authenticated') ? user : { ...user, groups: [...user.groups, 'system:authenticated'] };
}

export async function authenticate(req: Request, env: Bindings | undefined, tokens: TokenAuthenticator): Promise<UserInfo | undefined> {
  if (env?.user) return env.user;
  const socket = env?.incoming?.socket as TLSSocket | undefined;
  if (socket?.authorized && typeof socket.getPeerCertificate === 'function') {
    const cert = socket.getPeerCertificate();
    const subject = cert?.subject as Record<string, string | string[]> | undefined;
    if (subject?.CN) {
      const o = subject.O;
      const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
      return withAuthenticated({ username: String(subject.CN), groups });
    }
  }
  const auth = req.headers.get('authorization');
  const m = auth?.match(/^Bearer\s+(\S+)$/i);
  if (m) {
    const user = await tokens(m[1]!);
    return user && withAuthenticated(user);
  }
  return undefined;
}
