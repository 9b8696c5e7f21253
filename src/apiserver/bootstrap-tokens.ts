// Bootstrap tokens (`skiff token create`), read as upstream's bootstrap token authenticator reads
// them: the Secret kube-system/bootstrap-token-<id> of type bootstrap.kubernetes.io/token, with the
// same token-secret, not expired, not being deleted, and usage-bootstrap-authentication "true". The
// token stands for system:bootstrap:<id> in system:bootstrappers and its auth-extra-groups.
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { parseBootstrapToken } from '../pki/join-token.js';
import type { UserInfo } from './authn.js';

export const BOOTSTRAP_TOKEN_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';

const text = (data: Record<string, string> | undefined, key: string) => Buffer.from(data?.[key] ?? '', 'base64').toString('utf8');

/** The user a bootstrap token stands for, or undefined when it is not a valid one (now). */
export async function bootstrapTokenUser(
  objects: ObjectStore,
  registry: Registry,
  token: string,
  now = Date.now(),
): Promise<UserInfo | undefined> {
  const parsed = parseBootstrapToken(token);
  if (!parsed) return undefined;
  const secret = await objects.tryGet(registry.byResource('', 'v1', 'secrets')!, 'kube-system', `bootstrap-token-${parsed.id}`);
  if (!secret || secret.metadata.deletionTimestamp || secret.type !== BOOTSTRAP_TOKEN_TYPE) return undefined;
  const data = secret.data as Record<string, string> | undefined;
  const want = Buffer.from(text(data, 'token-secret'));
  const got = Buffer.from(parsed.secret);
  if (text(data, 'token-id') !== parsed.id || want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
  const expiration = text(data, 'expiration');
  if (expiration && !(Date.parse(expiration) > now)) return undefined;
  if (text(data, 'usage-bootstrap-authentication') !== 'true') return undefined;
  const extra = text(data, 'auth-extra-groups')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g.startsWith(`${BOOTSTRAPPERS_GROUP}:`));
  return { username: `system:bootstrap:${parsed.id}`, groups: [BOOTSTRAPPERS_GROUP, ...extra] };
}
