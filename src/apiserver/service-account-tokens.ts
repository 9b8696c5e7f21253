// Service account tokens: ES256 JWTs signed with the cluster's service account key, checked as
// upstream's pkg/serviceaccount checks them. A bound token (TokenRequest) names its service account
// and, when bound, the Pod or Secret it lives with: it authenticates only while each of them exists
// with the same uid (and has not been deleting for more than a minute). A legacy token (issuer
// kubernetes/serviceaccount, no expiry) is the one the token controller put in a
// kubernetes.io/service-account-token Secret: it authenticates only while that Secret still holds it.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import type { Registry } from '../api/registry/registry.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import type { UserInfo } from './authn.js';

export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const LEGACY_ISSUER = 'kubernetes/serviceaccount';
export const MIN_EXPIRATION_SECONDS = 600;
/** Objects deleted longer ago than this no longer vouch for their tokens (jwt.DefaultLeeway). */
const LEEWAY_MS = 60_000;

export interface TokenSubject {
  namespace: string;
  name: string;
  uid: string;
  audiences?: string[];
  expirationSeconds?: number;
  boundObject?: { kind: string; name: string; uid: string };
}

interface KubernetesClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  secret?: { name: string; uid: string };
}

const LEGACY = {
  namespace: 'kubernetes.io/serviceaccount/namespace',
  secret: 'kubernetes.io/serviceaccount/secret.name',
  name: 'kubernetes.io/serviceaccount/service-account.name',
  uid: 'kubernetes.io/serviceaccount/service-account.uid',
} as const;

/** What a check needs of an object: its uid, whether it is being deleted, and (Secrets) its data. */
export interface LookedUp {
  metadata: { uid: string; deletionTimestamp?: string };
  data?: Record<string, string>;
}

/** Reads the objects tokens depend on, straight from the datastore. */
export interface TokenLookups {
  serviceAccount(namespace: string, name: string): Promise<LookedUp | undefined>;
  pod(namespace: string, name: string): Promise<LookedUp | undefined>;
  secret(namespace: string, name: string): Promise<LookedUp | undefined>;
}

/** Lookups in the API server's own store (Secrets come back decrypted). */
export function storeLookups(objects: ObjectStore, registry: Registry): TokenLookups {
  const get = (resource: string) => {
    const def = registry.byResource('', 'v1', resource)!;
    return (namespace: string, name: string) => objects.tryGet(def, namespace, name) as Promise<LookedUp | undefined>;
  };
  return { serviceAccount: get('serviceaccounts'), pod: get('pods'), secret: get('secrets') };
}

/** The object exists with this uid and was not deleted more than a minute ago. */
function alive(obj: LookedUp | undefined, uid: string, now: number): boolean {
  if (!obj || obj.metadata.uid !== uid) return false;
  const deleted = obj.metadata.deletionTimestamp;
  return !deleted || Date.parse(deleted) >= now - LEEWAY_MS;
}

export class ServiceAccountTokens {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  constructor(
    keyPem: string,
    private readonly lookups: TokenLookups,
  ) {
    this.privateKey = createPrivateKey(keyPem);
    this.publicKey = createPublicKey(this.privateKey);
  }

  async issue(s: TokenSubject): Promise<{ token: string; expirationTimestamp: string; audiences: string[] }> {
    const audiences = s.audiences?.length ? s.audiences : [ISSUER];
    const now = Math.floor(Date.now() / 1000);
    const exp = now + (s.expirationSeconds ?? 3600);
    const claims: KubernetesClaims = { namespace: s.namespace, serviceaccount: { name: s.name, uid: s.uid } };
    if (s.boundObject?.kind === 'Pod') claims.pod = { name: s.boundObject.name, uid: s.boundObject.uid };
    if (s.boundObject?.kind === 'Secret') claims.secret = { name: s.boundObject.name, uid: s.boundObject.uid };
    const token = await new SignJWT({ 'kubernetes.io': claims })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(ISSUER)
      .setSubject(`system:serviceaccount:${s.namespace}:${s.name}`)
      .setAudience(audiences)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(exp)
      .sign(this.privateKey);
    return { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), audiences };
  }

  /** The token of a kubernetes.io/service-account-token Secret: no audience, no expiry, as upstream's LegacyClaims. */
  issueLegacy(c: { namespace: string; serviceAccountName: string; serviceAccountUid: string; secretName: string }): Promise<string> {
    return new SignJWT({
      [LEGACY.namespace]: c.namespace,
      [LEGACY.secret]: c.secretName,
      [LEGACY.name]: c.serviceAccountName,
      [LEGACY.uid]: c.serviceAccountUid,
    })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(LEGACY_ISSUER)
      .setSubject(`system:serviceaccount:${c.namespace}:${c.serviceAccountName}`)
      .sign(this.privateKey);
  }

  /** The user a token stands for, or undefined for a bad, expired, orphaned or revoked token. */
  async verify(token: string, audience = ISSUER): Promise<UserInfo | undefined> {
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      return undefined;
    }
    return issuer === LEGACY_ISSUER ? this.verifyLegacy(token) : this.verifyBound(token, audience);
  }

  private async verifyBound(token: string, audience: string): Promise<UserInfo | undefined> {
    let claims: KubernetesClaims | undefined;
    try {
      const { payload } = await jwtVerify(token, this.publicKey, { issuer: ISSUER, audience, algorithms: ['ES256'] });
      claims = payload['kubernetes.io'] as KubernetesClaims | undefined;
    } catch {
      return undefined;
    }
    if (!claims?.namespace || !claims.serviceaccount?.name || !claims.serviceaccount.uid) return undefined;
    const { namespace, serviceaccount: sa, pod, secret } = claims;
    const now = Date.now();
    if (!alive(await this.lookups.serviceAccount(namespace, sa.name), sa.uid, now)) return undefined;
    if (secret && !alive(await this.lookups.secret(namespace, secret.name), secret.uid, now)) return undefined;
    if (pod && !alive(await this.lookups.pod(namespace, pod.name), pod.uid, now)) return undefined;
    const extra: Record<string, string[]> = {};
    if (pod) {
      extra['authentication.kubernetes.io/pod-name'] = [pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [pod.uid];
    }
    return {
      username: `system:serviceaccount:${namespace}:${sa.name}`,
      uid: sa.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
      ...(Object.keys(extra).length ? { extra } : {}),
    };
  }

  private async verifyLegacy(token: string): Promise<UserInfo | undefined> {
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, this.publicKey, { issuer: LEGACY_ISSUER, algorithms: ['ES256'] }));
    } catch {
      return undefined;
    }
    const [namespace, secretName, name, uid] = [claims[LEGACY.namespace], claims[LEGACY.secret], claims[LEGACY.name], claims[LEGACY.uid]];
    if (typeof namespace !== 'string' || typeof secretName !== 'string' || typeof name !== 'string' || typeof uid !== 'string')
      return undefined;
    const secret = await this.lookups.secret(namespace, secretName);
    // The Secret must still carry this very token: deleting or emptying it revokes the token.
    if (!secret || secret.metadata.deletionTimestamp) return undefined;
    if (Buffer.from(secret.data?.token ?? '', 'base64').toString('utf8') !== token) return undefined;
    if (!alive(await this.lookups.serviceAccount(namespace, name), uid, Date.now())) return undefined;
    return {
      username: `system:serviceaccount:${namespace}:${name}`,
      uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
    };
  }
}
