// ?watch=true: a chunked stream of JSON lines `{"type":"ADDED","object":{...}}`, with optional
// bookmarks, ended by timeoutSeconds or the client going away.
import { badRequest } from '../k8s/errors.js';
import { apiVersionOf, type KObject, type StoredObject } from '../k8s/object.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import type { ApiWatchEvent } from '../api/storage/watch.js';
import { watchEventJson } from '../api/storage/shared-json.js';
import { representation } from './negotiate.js';
import { queryBool } from './query.js';
import type { RequestContext } from './request-context.js';
import { listQuery } from './resource-handlers.js';
import { toTable } from './table.js';

const BOOKMARK_EVERY_MS = 60_000;
const MAX_TIMEOUT_SECONDS = 1800;

export interface WatchSettings {
  bookmarkEveryMs?: number;
}

function timeoutOf(q: URLSearchParams): number {
  const raw = q.get('timeoutSeconds');
  if (raw === null) return MAX_TIMEOUT_SECONDS;
  if (!/^\d+$/.test(raw)) throw badRequest(`invalid timeoutSeconds "${raw}"`);
  return Math.min(Number(raw), MAX_TIMEOUT_SECONDS) || MAX_TIMEOUT_SECONDS;
}

export async function watchResponse(ctx: RequestContext, objects: ObjectStore, settings: WatchSettings = {}): Promise<Response> {
  const { def, namespace, name } = ctx.path;
  const q = listQuery(ctx.query);
  const fieldSelector = name ? [q.fieldSelector, `metadata.name=${name}`].filter(Boolean).join(',') : q.fieldSelector;
  const sendInitial = queryBool(ctx.query, 'sendInitialEvents') === true;
  const bookmarks = queryBool(ctx.query, 'allowWatchBookmarks') === true;
  const timeoutMs = timeoutOf(ctx.query) * 1000;
  const watch = await objects.watch(def, namespace, {
    labelSelector: q.labelSelector,
    fieldSelector,
    resourceVersion: sendInitial ? '' : q.resourceVersion,
  });
  const asTable = representation(ctx.req.headers.get('accept')) === 'table';
  let sentColumns = false;
  let lastRV = String(watch.startRevision);

  const bookmark = (annotations?: Record<string, string>): ApiWatchEvent => ({
    type: 'BOOKMARK',
    object: {
      kind: def.kind,
      apiVersion: apiVersionOf(def.group, def.version),
      metadata: { resourceVersion: lastRV, ...(annotations ? { annotations } : {}) },
    },
  });
  // The cache's objects carry their JSON, made once for every watcher and list.
  const encodeEvent = (e: ApiWatchEvent): string => {
    if (!asTable || e.type === 'BOOKMARK') return watchEventJson(e.type, e.object);
    const object: KObject = toTable(def, [e.object as StoredObject], {
      resourceVersion: e.object.metadata?.resourceVersion,
      rowsOnly: sentColumns,
      includeObject: ctx.query.get('includeObject'),
    });
    sentColumns = true;
    return watchEventJson(e.type, object);
  };

  const it = watch.events[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  let initialDone = !sendInitial;
  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  const stop = () => {
    closed = true;
    for (const timer of timers) clearTimeout(timer);
    watch.close();
  };

  // One timer for the deadline and one for bookmarks per watch, not one per event.
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      timers.push(
        setTimeout(() => {
          if (closed) return;
          stop();
          controller.close();
        }, timeoutMs),
      );
      if (bookmarks) {
        const every = settings.bookmarkEveryMs ?? BOOKMARK_EVERY_MS;
        timers.push(setInterval(() => closed || controller.enqueue(encoder.encode(encodeEvent(bookmark()))), every));
      }
    },
    // Loops until it has something to send: pull is not called again after a pull that sent nothing.
    async pull(controller) {
      for (;;) {
        const next = await it.next();
        if (closed) return;
        if (next.done) {
          stop();
          controller.close();
          return;
        }
        let out = '';
        for (const e of next.value) {
          lastRV = e.object.metadata?.resourceVersion ?? lastRV;
          out += encodeEvent(e);
        }
        if (!initialDone) {
          initialDone = true;
          lastRV = String(watch.startRevision);
          out += encodeEvent(bookmark({ 'k8s.io/initial-events-end': 'true' }));
        }
        if (out !== '') {
          controller.enqueue(encoder.encode(out));
          return;
        }
      }
    },
    cancel: stop,
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } });
}
