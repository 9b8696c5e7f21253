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
import type { StoredObject } from '../../k8s/object.js';
import type { ResourceCache } from './resource-cache.js';
import { share } from './shared-json.js';

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

export interface ListResult {
  items: StoredObject[];
  resourceVersion: string;
  continue?: string;
}

/** Lists without selectors at the cache's current revision, by prefix and page: many clients list the same. */
const recent = new WeakMap<ResourceCache, Map<string, ListResult>>();
const RECENT_LISTS = 16;

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
  const revision = String(cache.revision);
  const reusable = !q.labelSelector && !q.fieldSelector;
  let lists = recent.get(cache);
  const key = `${prefix}\n${after}\n${q.limit ?? ''}`;
  const known = reusable ? lists?.get(key) : undefined;
  if (known?.resourceVersion === revision) return known;
  const page = cache.list(prefix, match, after, q.limit);
  // The same (frozen) items for every such list: their JSON is made once too (shared-json.ts).
  const result = { items: share(page.items), resourceVersion: revision, continue: page.more && encodeContinue(cache.revision, page.more) };
  if (reusable) {
    if (!lists) recent.set(cache, (lists = new Map()));
    lists.delete(key);
    lists.set(key, result);
    if (lists.size > RECENT_LISTS) lists.delete(lists.keys().next().value!);
  }
  return result;
}
