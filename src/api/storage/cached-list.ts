// Which lists the watch cache answers, by Kubernetes' resourceVersion rules: unset (the most recent)
// once the cache caught up with the datastore; "0" (any) as the cache is; N (not older than N) when
// the cache has reached N; an exact N, or a page after the first, only while the cache is at exactly
// that revision. Everything else (an older exact revision, a page of an older list) is for the
// datastore, which also answers 410 when that revision was compacted away. Continue tokens are the
// datastore's, so a page started here can go on there and the other way round.
import type { KObject } from '../../k8s/object.js';
import { decodeContinue, encodeContinue } from '../../store/log-rows.js';
import type { CachedResource, Cacher } from './cacher.js';
import type { ListQuery } from './filter.js';
import type { ListResult } from './object-store.js';
import type { ResourceCache } from './resource-cache.js';

async function cacheFor(cacher: Cacher, r: CachedResource, prefix: string, q: ListQuery): Promise<[ResourceCache, string] | undefined> {
  const { resourceVersion: rv, resourceVersionMatch: match } = q;
  if (q.continue) {
    const { rev, after } = decodeContinue(q.continue, prefix);
    const cache = await cacher.resource(r);
    return cache.revision === rev ? [cache, after] : undefined;
  }
  if (match === 'Exact' && rv) {
    const cache = await cacher.resource(r);
    return cache.revision === Number(rv) ? [cache, ''] : undefined;
  }
  if (rv === '0') return [await cacher.resource(r), ''];
  if (rv) {
    const cache = await cacher.resource(r);
    if (cache.revision >= Number(rv)) return [cache, ''];
  }
  const fresh = await cacher.fresh(r);
  return fresh && [fresh, ''];
}

/** The list from the watch cache, or undefined when it is for the datastore to answer. */
export async function cachedList(
  cacher: Cacher,
  r: CachedResource,
  prefix: string,
  match: (o: KObject) => boolean,
  q: ListQuery,
): Promise<ListResult | undefined> {
  const found = await cacheFor(cacher, r, prefix, q);
  if (!found) return undefined;
  const [cache, after] = found;
  const revision = cache.revision;
  const page = cache.list(prefix, match, after, q.limit);
  return { items: page.items, resourceVersion: String(revision), continue: page.more && encodeContinue(revision, page.more) };
}
