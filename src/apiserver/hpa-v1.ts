// autoscaling/v1 HorizontalPodAutoscalers, which `kubectl autoscale` creates: served by converting
// to and from the stored autoscaling/v2 objects as upstream converts them (the CPU utilization
// target and its current value; v2's other metrics, behaviour and conditions have no v1 fields
// and are not carried in annotations here). Only create, get and list: every other client uses v2,
// the preferred version.
import type { HorizontalPodAutoscaler as V1 } from 'kubernetes-types/autoscaling/v1.js';
import type { HorizontalPodAutoscaler as V2 } from 'kubernetes-types/autoscaling/v2.js';
import type { Registry } from '../api/registry/registry.js';
import type { ResourceDef } from '../api/registry/types.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import type { KObject, StoredObject } from '../k8s/object.js';
import { readObject } from './body.js';
import { jsonResponse, representation } from './negotiate.js';
import { methodNotAllowed, type RequestContext, writeContext } from './request-context.js';
import { listQuery } from './resource-handlers.js';
import type { SubresourceHandler } from './routes.js';
import { toTable } from './table.js';

export const hpaV1: ResourceDef = {
  group: 'autoscaling',
  version: 'v1',
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
  singular: 'horizontalpodautoscaler',
  namespaced: true,
  verbs: ['create', 'get', 'list'],
  virtual: true,
  schemaName: 'io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler',
};

export function toV2(o: V1): V2 {
  const { targetCPUUtilizationPercentage: cpu, ...spec } = o.spec ?? ({} as NonNullable<V1['spec']>);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: o.metadata,
    spec: {
      ...spec,
      ...(cpu !== undefined
        ? { metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpu } } }] }
        : {}),
    },
  };
}

export function toV1(o: V2): V1 {
  const isCpu = (m: { type: string; resource?: { name: string } }) => m.type === 'Resource' && m.resource?.name === 'cpu';
  const target = o.spec?.metrics?.find(isCpu)?.resource?.target;
  const current = o.status?.currentMetrics?.find(isCpu)?.resource?.current;
  const s = o.status;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: o.metadata,
    spec: {
      scaleTargetRef: o.spec!.scaleTargetRef,
      minReplicas: o.spec?.minReplicas,
      maxReplicas: o.spec!.maxReplicas,
      ...(target?.type === 'Utilization' ? { targetCPUUtilizationPercentage: target.averageUtilization } : {}),
    },
    status: {
      currentReplicas: s?.currentReplicas ?? 0,
      desiredReplicas: s?.desiredReplicas ?? 0,
      ...(s?.observedGeneration !== undefined ? { observedGeneration: s.observedGeneration } : {}),
      ...(s?.lastScaleTime ? { lastScaleTime: s.lastScaleTime } : {}),
      ...(current?.averageUtilization !== undefined ? { currentCPUUtilizationPercentage: current.averageUtilization } : {}),
    },
  };
}

export function hpaV1Handler(registry: Registry, objects: ObjectStore): SubresourceHandler {
  const v2 = () => registry.byResource('autoscaling', 'v2', 'horizontalpodautoscalers')!;
  const respond = (ctx: RequestContext, items: StoredObject[], one: boolean, status = 200) => {
    if (representation(ctx.req.headers.get('accept')) === 'table') return jsonResponse(toTable(v2(), items, {}), status);
    const converted = items.map((o) => toV1(o as unknown as V2) as KObject);
    if (one) return jsonResponse(converted[0], status);
    return jsonResponse({
      kind: 'HorizontalPodAutoscalerList',
      apiVersion: 'autoscaling/v1',
      metadata: {},
      items: converted.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    });
  };
  return async (ctx) => {
    const { def, namespace, name, subresource } = ctx.path;
    const method = ctx.req.method;
    if (def.version !== 'v1' || subresource) throw methodNotAllowed(ctx);
    if (method === 'GET' && name !== undefined) return respond(ctx, [await objects.get(v2(), namespace, name)], true);
    if (method === 'GET') return respond(ctx, (await objects.list(v2(), namespace, listQuery(ctx.query))).items, false);
    if (method === 'POST' && name === undefined) {
      const created = await objects.create(v2(), namespace, toV2((await readObject(ctx.req)) as V1) as KObject, writeContext(ctx));
      return respond(ctx, [created], true, 201);
    }
    throw methodNotAllowed(ctx);
  };
}
