// What a request asks to do, in the terms authorization speaks (upstream's RequestInfo): a verb on a
// resource (group, resource, subresource, namespace, name) or on a non-resource path. Read from the
// URL and method alone, whether or not the resource exists.
import { queryBool } from '../query.js';

export interface RequestInfo {
  isResourceRequest: boolean;
  /** get list watch create update patch delete deletecollection; for non-resource paths the HTTP verb, lower case. */
  verb: string;
  /** The URL path, for non-resource requests (and messages). */
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** A list's or watch's field selector, for authorizers that allow only selected lists (nodes: their own pods). */
  fieldSelector?: string;
}

const HTTP_VERBS: Record<string, string> = { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** `method` and `url` of the request; an upgrade for exec, attach or port-forward is a create, as upstream checks it. */
export function requestInfo(method: string, url: URL): RequestInfo {
  const path = url.pathname;
  const nonResource: RequestInfo = {
    isResourceRequest: false,
    verb: method.toLowerCase() === 'head' ? 'get' : method.toLowerCase(),
    path,
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
  };
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let rest: string[];
  let apiGroup = '';
  let apiVersion: string;
  if (parts[0] === 'api' && parts.length >= 3) [apiVersion, rest] = [parts[1]!, parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4) [apiGroup, apiVersion, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
  else return nonResource;

  let verb = HTTP_VERBS[method.toUpperCase()] ?? method.toLowerCase();
  if (rest[0] === 'watch') {
    verb = 'watch';
    rest = rest.slice(1);
  }
  let namespace = '';
  // namespaces/<ns>/<resource>...: a namespaced resource; namespaces/<ns>[/status|finalize]: the namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    namespace = rest[1]!;
    rest = rest.length >= 3 && !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize')) ? rest.slice(2) : rest;
  }
  const [resource = '', name = '', subresource = ''] = rest;
  if (resource === 'namespaces' && name) namespace = name;
  const fieldSelector = url.searchParams.get('fieldSelector') ?? undefined;
  let named = name;
  if (!name && verb === 'get') {
    verb = queryBool(url.searchParams, 'watch') ? 'watch' : 'list';
    // A list or watch of one object by name is authorized as that object (resourceNames apply).
    named = selectedName(fieldSelector) ?? '';
  }
  if (name && verb === 'get' && queryBool(url.searchParams, 'watch')) verb = 'watch';
  if (!name && verb === 'delete') verb = 'deletecollection';
  return { isResourceRequest: true, verb, path, apiGroup, apiVersion, resource, subresource, namespace, name: named, fieldSelector };
}

/** The name a field selector requires (`metadata.name=x` or `==`), if it is a valid path segment. */
function selectedName(fieldSelector: string | undefined): string | undefined {
  for (const term of (fieldSelector ?? '').split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    if (m?.[1] && m[1] !== '.' && m[1] !== '..' && !/[/%]/.test(m[1])) return m[1];
  }
  return undefined;
}
