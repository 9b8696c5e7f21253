// Rewrites every stored value of the resources an encryption config covers with its current first
// provider, as K3s's `secrets-encrypt reencrypt` does through Secret updates: each value is read with
// whichever key opens it and written back as it is, with the key now in front. A value that another
// writer changed meanwhile was written with that key already and is left alone.
import { ConflictError, KeyNotFoundError, CompactedError, type Store } from '../../store/index.js';
import { storagePrefix } from '../storage/codec.js';
import type { Registry } from '../registry/registry.js';
import type { StorageTransformers } from '../storage/transformer.js';

const PAGE = 500;

/** Rewrites every value of the covered resources; answers how many were rewritten. */
export async function reencryptAll(
  store: Store,
  registry: Registry,
  transformers: StorageTransformers,
  covered: (group: string, resource: string) => boolean,
): Promise<number> {
  // Versions of one resource share their storage: each prefix once.
  const prefixes = new Map<string, { group: string; plural: string }>();
  for (const def of registry.all()) {
    const prefix = `/registry/${storagePrefix(def)}/`;
    if (covered(def.group, def.plural) && !prefixes.has(prefix)) prefixes.set(prefix, def);
  }
  let rewritten = 0;
  for (const [prefix, def] of prefixes)
    rewritten += await rewritePrefix(store, prefix, () => transformers.forResource(def.group, def.plural));
  return rewritten;
}

async function rewritePrefix(store: Store, prefix: string, transformer: () => ReturnType<StorageTransformers['forResource']>) {
  let rewritten = 0;
  let token: string | undefined;
  for (;;) {
    let page: Awaited<ReturnType<Store['list']>>;
    try {
      page = await store.list(prefix, { limit: PAGE, continue: token });
    } catch (err) {
      // The page's revision was compacted away meanwhile: start over (rewriting twice is harmless).
      if (!(err instanceof CompactedError) || !token) throw err;
      token = undefined;
      continue;
    }
    const t = transformer();
    // One page's writes go out together: the store commits them in one transaction.
    const results = await Promise.all(
      page.items.map((kv) =>
        store
          .update(kv.key, t.toStorage(t.fromStorage(kv.value, kv.key), kv.key), kv.modRevision, kv.lease ? { lease: kv.lease } : {})
          .then(
            () => 1,
            (err: unknown) => {
              if (err instanceof ConflictError || err instanceof KeyNotFoundError) return 0;
              throw err;
            },
          ),
      ),
    );
    rewritten += results.reduce((a: number, b: number) => a + b, 0);
    token = page.continue;
    if (!token) return rewritten;
  }
}
