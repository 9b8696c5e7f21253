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

/** The user a connection's client certificate names (CN = user, O = groups), or null: read once per connection. */
const certificateUsers = new WeakMap<TLSSocket, UserInfo | null>();

function certificateUser(socket: TLSSocket): UserInfo | null {
  let user = certificateUsers.get(socket);
  if (user !== undefined) return user;
  const subject = socket.getPeerCertificate()?.subject as Record<string, string | string[]> | undefined;
  const o = subject?.O;
  user = subject?.CN
    ? withAuthenticated({ username: String(subject.CN), groups: o === undefined ? [] : Array.isArray(o) ? o : [o] })
    : null;
  certificateUsers.set(socket, user);
  return user;
}

export async function authenticate(req: Request, env: Bindings | undefined, tokens: TokenAuthenticator): Promise<UserInfo | undefined> {
  if (env?.user) return env.user;
  const socket = env?.incoming?.socket as TLSSocket | undefined;
  if (socket?.authorized && typeof socket.getPeerCertificate === 'function') {
    const user = certificateUser(socket);
    if (user) return user;
  }
  const auth = req.headers.get('authorization');
  const m = auth?.match(/^Bearer\s+(\S+)$/i);
  if (m) {
    const user = await tokens(m[1]!);
    return user && withAuthenticated(user);
  }
  return undefined;
}
