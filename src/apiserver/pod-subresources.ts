// pods/binding (how the scheduler places a pod) and pods/eviction (a delete that respects
// PodDisruptionBudgets, as `kubectl drain` uses it). Both answer with a Success Status, as upstream.
import type { DeleteOptions } from 'kubernetes-types/meta/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { ApiError, badRequest, conflict, invalid } from '../k8s/errors.js';
import { nowTimestamp } from '../k8s/time.js';
import type { KObject, StoredObject } from '../k8s/object.js';
import type { Registry } from '../api/registry/registry.js';
import { fromLabelSelector, matches } from '../k8s/selectors.js';
import { retryOnModified } from '../api/storage/errors.js';
import { deleteObject } from '../api/storage/deletion.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { readObject } from './body.js';
import { jsonResponse } from './negotiate.js';
import type { RequestContext } from './request-context.js';
import { methodNotAllowed } from './request-context.js';
import type { SubresourceHandler } from './routes.js';

interface PodLike extends StoredObject {
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string; lastTransitionTime?: string; lastProbeTime?: string | null }[] };
}

const success = (code: number) => jsonResponse({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code }, code);

async function bodyFor(ctx: RequestContext, kind: string): Promise<KObject> {
  if (ctx.req.method !== 'POST') throw methodNotAllowed(ctx);
  const body = await readObject(ctx.req);
  if (body.kind && body.kind !== kind) throw badRequest(`expected a ${kind}, got a ${body.kind}`);
  const name = body.metadata?.name;
  if (name && name !== ctx.path.name)
    throw badRequest(`the name of the ${kind} (${name}) does not match the pod name in the URL (${ctx.path.name})`);
  return body;
}

export function podSubresourceHandlers(registry: Registry, objects: ObjectStore): Record<string, SubresourceHandler> {
  const pods = registry.byResource('', 'v1', 'pods')!;
  const pdbs = registry.byResource('policy', 'v1', 'poddisruptionbudgets');

  const bind: SubresourceHandler = async (ctx) => {
    const binding = await bodyFor(ctx, 'Binding');
    const target = binding.target as { kind?: string; name?: string } | undefined;
    if (!target?.name)
      throw invalid('Binding', '', ctx.path.name!, [{ type: 'FieldValueRequired', field: 'target.name', detail: 'Required value' }]);
    if (target.kind && target.kind !== 'Node')
      throw invalid('Binding', '', ctx.path.name!, [
        { type: 'FieldValueNotSupported', field: 'target.kind', detail: `Unsupported value: "${target.kind}": supported values: "Node"` },
      ]);
    await retryOnModified(async () => {
      const pod = (await objects.get(pods, ctx.path.namespace, ctx.path.name!)) as PodLike;
      if (pod.metadata.deletionTimestamp)
        throw conflict({ group: '', resource: 'pods' }, pod.metadata.name, 'pod is being deleted, cannot be assigned to a host');
      if (pod.spec?.nodeName)
        throw conflict(
          { group: '', resource: 'pods' },
          pod.metadata.name,
          `pod ${pod.metadata.name} is already assigned to node "${pod.spec.nodeName}"`,
        );
      if (ctx.dryRun) return pod;
      const now = nowTimestamp();
      const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now });
      const bound = { ...pod, spec: { ...pod.spec, nodeName: target.name }, status: { ...pod.status, conditions } };
      return objects.replaceAsIs(pods, pod, bound);
    });
    return success(201);
  };

  /** The budgets that cover `pod`; one that allows no disruption blocks the eviction. */
  const chargeBudgets = async (pod: PodLike, dryRun: boolean) => {
    if (!pdbs) return;
    const budgets = (await objects.list(pdbs, pod.metadata.namespace)).items as (StoredObject & PodDisruptionBudget)[];
    const covering = budgets.filter((b) => {
      const sel = fromLabelSelector(b.spec?.selector);
      return sel !== undefined && sel.length > 0 && matches(sel, pod.metadata.labels);
    });
    if (covering.length > 1)
      throw new ApiError(
        500,
        'InternalError',
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      );
    const budget = covering[0];
    if (!budget) return;
    const status = budget.status;
    const fresh = status && (status.observedGeneration ?? 0) >= (budget.metadata.generation ?? 0);
    if (!fresh || (status.disruptionsAllowed ?? 0) <= 0) {
      const detail = fresh
        ? ` The disruption budget ${budget.metadata.name} needs ${status.desiredHealthy} healthy pods ` +
          `and has ${status.currentHealthy} currently`
        : '';
      const state = fresh ? 'does not allow a disruption now' : 'is still being processed by the server';
      throw new ApiError(429, 'TooManyRequests', `Cannot evict pod as it would violate the pod's disruption budget.${detail}`, {
        causes: [
          {
            reason: 'DisruptionBudget',
            message: `The disruption budget ${budget.metadata.name} ${state}.`,
          },
        ],
      });
    }
    if (dryRun) return;
    const charged = {
      ...budget,
      status: {
        ...status,
        disruptionsAllowed: status.disruptionsAllowed - 1,
        disruptedPods: { ...status.disruptedPods, [pod.metadata.name]: nowTimestamp() },
      },
    };
    await objects.replaceAsIs(pdbs, budget, charged);
  };

  const evict: SubresourceHandler = async (ctx) => {
    const eviction = await bodyFor(ctx, 'Eviction');
    const opts = (eviction.deleteOptions ?? {}) as DeleteOptions;
    const dryRun = ctx.dryRun || (opts.dryRun ?? []).includes('All');
    await retryOnModified(async () => {
      const pod = (await objects.get(pods, ctx.path.namespace, ctx.path.name!)) as PodLike;
      // Finished, never-started and already-terminating pods disrupt nothing.
      const phase = pod.status?.phase;
      const exempt = pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !phase;
      if (!exempt) await chargeBudgets(pod, dryRun);
      await deleteObject(objects, pods, pod, opts, { dryRun });
    });
    return success(201);
  };

  return { 'pods/binding': bind, 'pods/eviction': evict };
}
