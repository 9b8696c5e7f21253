// The ciphers of kube-apiserver's encryption providers, byte for byte as upstream stores them after
// the `k8s:enc:<provider>:v1:<key name>:` prefix:
//   aescbc     16-byte random IV, then AES-CBC of the value with PKCS#7 padding
//   aesgcm     12-byte random nonce, then AES-GCM ciphertext and 16-byte tag; the datastore key is the
//              additional authenticated data, so a value copied under another key does not open
//   secretbox  24-byte random nonce, then NaCl secretbox (XSalsa20-Poly1305: tag, then ciphertext)
// AES comes from Node's crypto; XSalsa20-Poly1305 is not there, so it comes from @noble/ciphers.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { secretbox } from '@noble/ciphers/salsa.js';

export type ProviderType = 'aescbc' | 'aesgcm' | 'secretbox';
export const PROVIDER_TYPES: readonly ProviderType[] = ['aescbc', 'aesgcm', 'secretbox'];

/** Key lengths upstream accepts for each provider, in bytes. */
export const KEY_SIZES: Record<ProviderType, readonly number[]> = { aescbc: [16, 24, 32], aesgcm: [16, 24, 32], secretbox: [32] };

/** How K3s's `secrets-encrypt status` names each key type. */
export const KEY_TYPE_NAMES: Record<ProviderType, string> = { aescbc: 'AES-CBC', aesgcm: 'AES-GCM', secretbox: 'XSalsa20-POLY1305' };

export interface Cipher {
  seal(plain: Buffer, aad: Buffer): Buffer;
  /** Throws an Error whose message says what did not fit. */
  open(data: Buffer, aad: Buffer): Buffer;
}

const AES_BLOCK = 16;
const GCM_NONCE = 12;
const GCM_TAG = 16;
const BOX_NONCE = 24;
const BOX_TAG = 16;

function aesCbc(key: Buffer): Cipher {
  const algorithm = `aes-${key.length * 8}-cbc`;
  return {
    seal(plain) {
      const iv = randomBytes(AES_BLOCK);
      const c = createCipheriv(algorithm, key, iv);
      return Buffer.concat([iv, c.update(plain), c.final()]);
    },
    open(data) {
      if (data.length < AES_BLOCK) throw new Error('the stored data was shorter than the required size');
      const body = data.subarray(AES_BLOCK);
      if (body.length % AES_BLOCK !== 0) throw new Error('the stored data is not a multiple of the block size');
      const d = createDecipheriv(algorithm, key, data.subarray(0, AES_BLOCK));
      try {
        return Buffer.concat([d.update(body), d.final()]);
      } catch {
        throw new Error('invalid padding on input');
      }
    },
  };
}

function aesGcm(key: Buffer): Cipher {
  const algorithm = `aes-${key.length * 8}-gcm` as 'aes-256-gcm';
  return {
    seal(plain, aad) {
      const nonce = randomBytes(GCM_NONCE);
      const c = createCipheriv(algorithm, key, nonce);
      c.setAAD(aad);
      return Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);
    },
    open(data, aad) {
      if (data.length < GCM_NONCE + GCM_TAG) throw new Error('the stored data was shorter than the required size');
      const d = createDecipheriv(algorithm, key, data.subarray(0, GCM_NONCE));
      d.setAAD(aad);
      d.setAuthTag(data.subarray(data.length - GCM_TAG));
      try {
        return Buffer.concat([d.update(data.subarray(GCM_NONCE, data.length - GCM_TAG)), d.final()]);
      } catch {
        throw new Error('message authentication failed');
      }
    },
  };
}

function xsalsa20Poly1305(key: Buffer): Cipher {
  return {
    seal(plain) {
      const nonce = randomBytes(BOX_NONCE);
      return Buffer.concat([nonce, secretbox(key, nonce).seal(plain)]);
    },
    open(data) {
      if (data.length < BOX_NONCE + BOX_TAG) throw new Error('the stored data was shorter than the required size');
      try {
        return Buffer.from(secretbox(key, data.subarray(0, BOX_NONCE)).open(data.subarray(BOX_NONCE)));
      } catch {
        throw new Error('message authentication failed');
      }
    },
  };
}

export function cipherFor(type: ProviderType, key: Buffer): Cipher {
  if (!KEY_SIZES[type].includes(key.length))
    throw new Error(`secret is not of the expected length, got ${key.length}, expected one of [${KEY_SIZES[type].join(' ')}]`);
  if (type === 'aescbc') return aesCbc(key);
  if (type === 'aesgcm') return aesGcm(key);
  return xsalsa20Poly1305(key);
}

/** A new random key of the size K3s generates (32 bytes), base64 as the config holds it. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64');
}
