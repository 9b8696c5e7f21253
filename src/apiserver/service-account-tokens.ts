// Service account tokens: ES256 JWTs with Kubernetes' claims, signed with the cluster's service
// account key. A token is accepted only while its service account (same uid) still exists.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { UserInfo } from './authn.js';

export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const MIN_EXPIRATION_SECONDS = 600;

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

/** Does the service account still exist with this uid? */
export type ServiceAccountCheck = (namespace: string, name: string, uid: string) => Promise<boolean>;

export class ServiceAccountTokens {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  constructor(
    keyPem: string,
    private readonly isLive: ServiceAccountCheck,
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

  /** The user a token stands for, or undefined for a bad, expired or orphaned token. */
  async verify(token: string, audience = ISSUER): Promise<UserInfo | undefined> {
    let claims: KubernetesClaims | undefined;
    try {
      const { payload } = await jwtVerify(token, this.publicKey, { issuer: ISSUER, audience, algorithms: ['ES256'] });
      claims = payload['kubernetes.io'] as KubernetesClaims | undefined;
    } catch {
      return undefined;
    }
    if (!claims?.namespace || !claims.serviceaccount?.name || !claims.serviceaccount.uid) return undefined;
    const { namespace, serviceaccount: sa } = claims;
    if (!(await this.isLive(namespace, sa.name, sa.uid))) return undefined;
    const extra: Record<string, string[]> = {};
    if (claims.pod) {
      extra['authentication.kubernetes.io/pod-name'] = [claims.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [claims.pod.uid];
    }
    return {
      username: `system:serviceaccount:${namespace}:${sa.name}`,
      uid: sa.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
      ...(Object.keys(extra).length ? { extra } : {}),
    };
  }
}
