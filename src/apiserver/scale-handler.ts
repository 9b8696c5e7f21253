// The scale subresource (`kubectl scale`, autoscalers): an autoscaling/v1 Scale view of any kind that
// declares where its replicas and selector live.
import { badRequest, conflict } from '../k8s/errors.js';
import { getPath, type KObject, type StoredObject } from '../k8s/object.js';
import type { ScaleSubresource } from '../api/registry/types.js';
import { MODIFIED } from '../api/storage/errors.js';
import { fromLabelSelector, selectorString } from '../k8s/selectors.js';
import { mediaType, parseStructured, readBody } from './body.js';
import { jsonResponse } from './negotiate.js';
import type { PatchDeps } from './patch-handler.js';
import { methodNotAllowed, writeContext, type RequestContext } from './request-context.js';

const strip = (path: string) => path.replace(/^\./, '');

function setPath(obj: KObject, path: string, value: unknown): void {
  const parts = strip(path).split('.');
  let cur = obj as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
  cur[parts[parts.length - 1]!] = value;
}

/** A LabelSelector, or a ReplicationController's plain map (every value a string), as the Scale's text. */
function selectorText(selector: unknown): string | undefined {
  if (typeof selector === 'string') return selector;
  if (selector && typeof selector === 'object') {
    const entries = Object.entries(selector);
    const plain = entries.every(([, v]) => typeof v === 'string');
    const sel = plain ? { matchLabels: Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b))) } : selector;
    return selectorString(fromLabelSelector(sel as never) ?? []);
  }
  return undefined;
}

export function toScale(obj: StoredObject, scale: ScaleSubresource): KObject {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  const selector = scale.labelSelectorPath ? selectorText(getPath(obj, strip(scale.labelSelectorPath))) : undefined;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: (getPath(obj, strip(scale.specReplicasPath)) as number | undefined) ?? 0 },
    status: { replicas: (getPath(obj, strip(scale.statusReplicasPath)) as number | undefined) ?? 0, ...(selector ? { selector } : {}) },
  };
}

export async function scaleResponse(ctx: RequestContext, deps: PatchDeps): Promise<Response> {
  const { def, namespace, name } = ctx.path;
  const scale = def.scale!;
  if (ctx.req.method === 'GET') return jsonResponse(toScale(await deps.objects.get(def, namespace, name!), scale));
  if (ctx.req.method !== 'PUT' && ctx.req.method !== 'PATCH') throw methodNotAllowed(ctx);
  const type = mediaType(ctx.req.headers.get('content-type')) || 'application/json';
  const body = parseStructured(
    await readBody(ctx.req),
    type.endsWith('yaml') ? 'application/yaml' : 'application/json',
    'the request body',
  );
  const updated = await deps.objects.guaranteedUpdate(
    def,
    namespace,
    name!,
    (current) => {
      const before = toScale(current, scale);
      let wanted: KObject;
      if (ctx.req.method === 'PUT') wanted = body as KObject;
      else if (type === 'application/json-patch+json') wanted = deps.patchers.json(before, body);
      else wanted = deps.patchers.merge(before, body);
      const rv = wanted.metadata?.resourceVersion;
      if (rv && rv !== current.metadata.resourceVersion) throw conflict({ group: def.group, resource: def.plural }, name!, MODIFIED);
      const replicas = (wanted.spec as { replicas?: unknown } | undefined)?.replicas;
      if (!Number.isInteger(replicas) || (replicas as number) < 0)
        throw badRequest(`spec.replicas must be a non-negative integer, not ${JSON.stringify(replicas)}`);
      setPath(current, scale.specReplicasPath, replicas);
      return current;
    },
    writeContext(ctx, { subresource: 'scale' }),
  );
  return jsonResponse(toScale(updated, scale));
}
