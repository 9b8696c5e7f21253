// The YAML editor's Apply: one object, sent as a server-side apply (PATCH with
// application/apply-patch+yaml, as `kubectl apply --server-side`) to the path its kind is served at.
import { parse, stringify } from 'yaml';
import type { KubeObject } from './watch-stream.js';

export const FIELD_MANAGER = 'skiff-dashboard';

/** A resource of an APIResourceList (discovery). */
export interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

export interface ApplyRequest {
  path: string;
  init: { method: 'PATCH'; headers: Record<string, string>; body: string };
}

/** `/api/v1` for the core group, else `/apis/<group>/<version>`. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The one object of the editor's text, with what Apply needs (apiVersion, kind, metadata.name). */
export function parseManifest(text: string): KubeObject {
  const docs = text.split(/^---\s*$/m).filter((d) => d.trim() && parse(d) != null);
  if (docs.length !== 1) throw new Error(`expected one object, found ${docs.length}`);
  const obj = parse(docs[0]!) as KubeObject;
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('the YAML is not an object');
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') throw new Error('apiVersion and kind are required');
  if (typeof obj.metadata?.name !== 'string' || !obj.metadata.name) throw new Error('metadata.name is required');
  return obj;
}

/** The resource serving `kind` in a discovery list (not a subresource). */
export function findResource(resources: ApiResource[], kind: string): ApiResource | undefined {
  return resources.find((r) => r.kind === kind && !r.name.includes('/'));
}

/** The server-side apply of `obj`; a namespaced object without a namespace goes to `defaultNamespace`. */
export function applyRequest(obj: KubeObject, resource: ApiResource, defaultNamespace = 'default'): ApplyRequest {
  const name = encodeURIComponent(obj.metadata.name);
  let path = groupVersionPath(obj.apiVersion!);
  if (resource.namespaced) {
    const namespace = obj.metadata.namespace || defaultNamespace;
    obj = { ...obj, metadata: { ...obj.metadata, namespace } };
    path += `/namespaces/${encodeURIComponent(namespace)}`;
  }
  path += `/${resource.name}/${name}?fieldManager=${FIELD_MANAGER}&force=true`;
  // JSON is YAML: the server parses the body as such.
  return { path, init: { method: 'PATCH', headers: { 'content-type': 'application/apply-patch+yaml' }, body: JSON.stringify(obj) } };
}

/** What the editor shows of a stored object: what a user declares, without the server's bookkeeping. */
export function editableYaml(obj: KubeObject): string {
  const { status: _status, ...rest } = obj;
  const {
    managedFields: _m,
    uid: _u,
    resourceVersion: _r,
    creationTimestamp: _c,
    generation: _g,
    selfLink: _s,
    ...metadata
  } = obj.metadata;
  return stringify({ ...rest, metadata });
}
