// A typed REST client for the Kubernetes API over a Transport: CRUD, status, patches, subresources
// and watches, with failures as ApiErrors carrying the server's Status.
import type { DeleteOptions, ListMeta, ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { ApiError, type StatusReason } from '../k8s/errors.js';
import { errorFrom } from './errors.js';
import type { ResourceType } from './resources.js';
import type { Transport } from './transport.js';
import { onAbort } from '../k8s/abort.js';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface ObjectList<T> {
  metadata: ListMeta;
  items: T[];
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

/** The Status an ERROR watch event carries. */
interface WatchErrorStatus {
  code?: number;
  reason?: StatusReason;
  message?: string;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

type Obj = { metadata?: ObjectMeta };

export class ResourceClient<T extends Obj> {
  constructor(
    private readonly transport: Transport,
    readonly type: ResourceType<T>,
    private readonly fieldManager: string,
  ) {}

  private path(namespace: string | undefined, name?: string, subresource?: string): string {
    const { group, version, resource, namespaced } = this.type;
    let p = group ? `/apis/${group}/${version}` : `/api/${version}`;
    if (namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${resource}`;
    if (name !== undefined) p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
    return p;
  }

  private async call<R>(method: string, path: string, what: string, body?: unknown, contentType = 'application/json'): Promise<R> {
    const res = await this.transport(method, path, {
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': contentType }) },
    });
    if (!res.ok) throw await errorFrom(res, `${method} ${what}`);
    return (await res.json()) as R;
  }

  private what(namespace: string | undefined, name?: string): string {
    const r = this.type.group ? `${this.type.resource}.${this.type.group}` : this.type.resource;
    return name === undefined ? r : `${r} ${namespace ? `${namespace}/` : ''}${name}`;
  }

  private withManager(path: string): string {
    return `${path}?fieldManager=${encodeURIComponent(this.fieldManager)}`;
  }

  get(namespace: string | undefined, name: string): Promise<T> {
    return this.call('GET', this.path(namespace, name), this.what(namespace, name));
  }

  list(namespace?: string, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.call('GET', this.path(namespace) + query(opts), this.what(namespace));
  }

  create(obj: T, namespace = obj.metadata?.namespace): Promise<T> {
    return this.call(
      'POST',
      this.withManager(this.path(namespace)),
      this.what(namespace, obj.metadata?.name ?? obj.metadata?.generateName),
      obj,
    );
  }

  update(obj: T): Promise<T> {
    const { namespace, name } = obj.metadata ?? {};
    return this.call('PUT', this.withManager(this.path(namespace, name)), this.what(namespace, name), obj);
  }

  updateStatus(obj: T): Promise<T> {
    const { namespace, name } = obj.metadata ?? {};
    return this.call('PUT', this.withManager(this.path(namespace, name, 'status')), this.what(namespace, name), obj);
  }

  patch(namespace: string | undefined, name: string, patch: unknown, type: PatchType = 'merge', subresource?: string): Promise<T> {
    const force = type === 'apply' ? '&force=true' : '';
    return this.call(
      'PATCH',
      this.withManager(this.path(namespace, name, subresource)) + force,
      this.what(namespace, name),
      patch,
      PATCH_CONTENT_TYPES[type],
    );
  }

  /** Deletes; answers the object (still there, with a deletionTimestamp) or the final Status. */
  delete(namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<unknown> {
    return this.call('DELETE', this.path(namespace, name), this.what(namespace, name), {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      ...opts,
    });
  }

  /** POST or PUT to a subresource (pods/binding, pods/eviction, serviceaccounts/token, namespaces/finalize). */
  subresource<R>(method: 'POST' | 'PUT', namespace: string | undefined, name: string, subresource: string, body: unknown): Promise<R> {
    return this.call(method, this.path(namespace, name, subresource), this.what(namespace, name), body);
  }

  /** A watch as an async stream of events; ends when the server ends it. A 410 is thrown as ApiError. */
  async *watch(namespace: string | undefined, opts: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const { signal, ...rest } = opts;
    const res = await this.transport('GET', this.path(namespace) + query({ ...rest, watch: true }), {
      headers: { accept: 'application/json' },
      signal,
    });
    if (!res.ok) throw await errorFrom(res, `watch ${this.what(namespace)}`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    // In-process responses do not see the request's signal: stop reading on abort here.
    const stop = () => void reader.cancel().catch(() => {});
    if (signal) onAbort(signal, stop);
    let buffered = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += value;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          const event = JSON.parse(line) as WatchEvent<T> | { type: 'ERROR'; object?: WatchErrorStatus | null };
          if (event.type === 'ERROR')
            throw new ApiError(event.object?.code ?? 500, event.object?.reason ?? 'Unknown', event.object?.message ?? 'watch error');
          yield event;
        }
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      await reader.cancel().catch(() => {});
    }
  }
}

function query(opts: object): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(opts)) if (v !== undefined && v !== '' && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The client components use: one transport, one field manager, a typed handle per resource. */
export class ApiClient {
  constructor(
    readonly transport: Transport,
    readonly fieldManager = 'skiff',
  ) {}

  resource<T extends Obj>(type: ResourceType<T>): ResourceClient<T> {
    return new ResourceClient(this.transport, type, this.fieldManager);
  }

  /** A GET of any API path (discovery), as parsed JSON. */
  async getJson<R>(path: string): Promise<R> {
    const res = await this.transport('GET', path, { headers: { accept: 'application/json' } });
    if (!res.ok) throw await errorFrom(res, `GET ${path}`);
    return (await res.json()) as R;
  }

  /** The same connection under another field manager (each controller writes as itself). */
  as(fieldManager: string): ApiClient {
    return new ApiClient(this.transport, fieldManager);
  }
}
