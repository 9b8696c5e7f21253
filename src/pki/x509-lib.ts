// @peculiar/x509, with reflect-metadata and its ASN.1 schemas, takes tens of milliseconds to load: it
// is loaded when a key, certificate or request is first made or read through it, not at every start
// (a restart reads its certificates' names and dates with node:crypto).
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

let loading: Promise<typeof X509> | undefined;

export function x509Lib(): Promise<typeof X509> {
  loading ??= (async () => {
    await import('reflect-metadata'); // @peculiar/x509's dependency injection needs it loaded first
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as unknown as Crypto);
    return lib;
  })();
  return loading;
}
