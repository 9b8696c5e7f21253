// /openapi/v2 and /openapi/v3: documents built from the registry, cached until it changes, with the
// content hashes kubectl uses to cache them on its side.
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import type { Registry } from '../api/registry/registry.js';
import { groupVersionDocument, swaggerDocument } from '../api/openapi/documents.js';
import { encodeOpenApiV2, OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_ANSWER } from './protobuf/openapi-v2.js';
import type { Bindings, UserInfo } from './authn.js';

type App = Hono<{ Bindings: Bindings; Variables: { user: UserInfo } }>;

interface Cached {
  body: string | Uint8Array<ArrayBuffer>;
  hash: string;
}

export function openapiRoutes(registry: Registry): (app: App) => void {
  let generation = -1;
  let docs = new Map<string, Cached | undefined>();
  // build gives a document (served as JSON) or bytes (served as they are).
  const cached = (key: string, build: () => unknown): Cached | undefined => {
    if (registry.generation !== generation) {
      docs = new Map();
      generation = registry.generation;
    }
    if (!docs.has(key)) {
      const doc = build();
      const body = doc === undefined || doc instanceof Uint8Array ? (doc as Uint8Array<ArrayBuffer> | undefined) : JSON.stringify(doc);
      docs.set(
        key,
        body === undefined ? undefined : { body, hash: createHash('sha512').update(body).digest('hex').slice(0, 128).toUpperCase() },
      );
    }
    return docs.get(key);
  };
  const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);
  const gvDoc = (group: string, version: string) => cached(gvPath(group, version), () => groupVersionDocument(registry, group, version));
  const json = (body: string | Uint8Array<ArrayBuffer>, extra: Record<string, string> = {}) =>
    new Response(body, { headers: { 'content-type': 'application/json', ...extra } });

  return (app) => {
    app.get('/openapi/v3', () => {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const { group, version } of registry.groupVersions()) {
        const doc = gvDoc(group, version);
        if (doc) paths[gvPath(group, version)] = { serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${doc.hash}` };
      }
      return json(JSON.stringify({ paths }));
    });
    app.get('/openapi/v3/*', (c) => {
      const rest = c.req.path.slice('/openapi/v3/'.length).split('/');
      const [group, version] =
        rest[0] === 'api' && rest.length === 2
          ? ['', rest[1]!]
          : rest[0] === 'apis' && rest.length === 3
            ? [rest[1]!, rest[2]!]
            : [undefined, undefined];
      const doc = group !== undefined && version !== undefined ? gvDoc(group, version) : undefined;
      if (!doc) return c.notFound();
      // A request carrying the current hash may be cached for good, as kube-apiserver allows.
      const immutable = c.req.query('hash') === doc.hash;
      return json(doc.body, { etag: `"${doc.hash}"`, 'cache-control': immutable ? 'public, immutable' : 'no-cache, private' });
    });
    app.get('/openapi/v2', (c) => {
      const swagger = () => JSON.parse(cached('v2', () => swaggerDocument(registry))!.body as string);
      // kubectl before 1.27 asks for gnostic's protobuf form and cannot do without it.
      if ((c.req.header('accept') ?? '').includes(OPENAPI_V2_PROTOBUF)) {
        const bytes = cached('v2-protobuf', () => encodeOpenApiV2(swagger()))!;
        return new Response(bytes.body, { headers: { 'content-type': OPENAPI_V2_PROTOBUF_ANSWER, etag: `"${bytes.hash}"` } });
      }
      return json(cached('v2', () => swaggerDocument(registry))!.body);
    });
  };
}
