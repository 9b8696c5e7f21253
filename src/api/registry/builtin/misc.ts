// The smaller groups: leases, disruption budgets, autoscalers, storage classes, events.k8s.io,
// priority classes and CustomResourceDefinitions.
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import type { Event as EventV1 } from 'kubernetes-types/events/v1.js';
import { defaultStorageClass } from '../../defaults/core.js';
import { isDefaultClass } from '../../admission/default-storage-class.js';
import { validateCrd } from '../../validation/crd.js';
import { withMeta } from '../../validation/object-meta.js';
import type { ResourceDef } from '../types.js';
import { col, int, since } from './columns.js';

function hpaTargets(h: HorizontalPodAutoscaler): string {
  const metrics = h.spec?.metrics ?? [];
  if (metrics.length === 0) return '<none>';
  const current = h.status?.currentMetrics ?? [];
  return metrics
    .map((m, i) => {
      const target = m.resource?.target;
      if (!target) return `<unknown>/${m.type}`;
      const now = current[i]?.resource?.current;
      if (target.averageUtilization !== undefined) {
        const used = now?.averageUtilization !== undefined ? `${now.averageUtilization}%` : '<unknown>';
        return `${m.resource!.name}: ${used}/${target.averageUtilization}%`;
      }
      return `${m.resource!.name}: ${now?.averageValue ?? '<unknown>'}/${target.averageValue ?? target.value ?? ''}`;
    })
    .join(', ');
}

export const miscResources: ResourceDef[] = [
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    singular: 'lease',
    namespaced: true,
    schemaName: 'io.k8s.api.coordination.v1.Lease',
    columns: [col('Holder', (l) => (l.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? '')],
    validate: withMeta('leases'),
  },
  {
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    singular: 'poddisruptionbudget',
    namespaced: true,
    shortNames: ['pdb'],
    statusSubresource: true,
    schemaName: 'io.k8s.api.policy.v1.PodDisruptionBudget',
    columns: [
      col('Min Available', (p: PodDisruptionBudget) => (p.spec?.minAvailable === undefined ? 'N/A' : String(p.spec.minAvailable))),
      col('Max Unavailable', (p: PodDisruptionBudget) => (p.spec?.maxUnavailable === undefined ? 'N/A' : String(p.spec.maxUnavailable))),
      int('Allowed Disruptions', (p: PodDisruptionBudget) => p.status?.disruptionsAllowed),
    ],
    validate: withMeta('poddisruptionbudgets'),
  },
  {
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    singular: 'horizontalpodautoscaler',
    namespaced: true,
    shortNames: ['hpa'],
    categories: ['all'],
    statusSubresource: true,
    schemaName: 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
    columns: [
      col('Reference', (h: HorizontalPodAutoscaler) => `${h.spec?.scaleTargetRef.kind}/${h.spec?.scaleTargetRef.name}`),
      col('Targets', hpaTargets),
      col('MinPods', (h: HorizontalPodAutoscaler) => (h.spec?.minReplicas === undefined ? '<unset>' : String(h.spec.minReplicas))),
      int('MaxPods', (h: HorizontalPodAutoscaler) => h.spec?.maxReplicas),
      int('Replicas', (h: HorizontalPodAutoscaler) => h.status?.currentReplicas),
    ],
    validate: withMeta('horizontalpodautoscalers'),
  },
  {
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'StorageClass',
    plural: 'storageclasses',
    singular: 'storageclass',
    namespaced: false,
    shortNames: ['sc'],
    schemaName: 'io.k8s.api.storage.v1.StorageClass',
    // kube-apiserver's printer marks the default class in the name column.
    noName: true,
    columns: [
      {
        ...col('Name', (s: StorageClass) => `${s.metadata?.name ?? ''}${isDefaultClass(s) ? ' (default)' : ''}`),
        format: 'name',
        description: 'Name must be unique within a namespace.',
      },
      col('Provisioner', (s: StorageClass) => s.provisioner),
      col('ReclaimPolicy', (s: StorageClass) => s.reclaimPolicy ?? 'Delete'),
      col('VolumeBindingMode', (s: StorageClass) => s.volumeBindingMode ?? 'Immediate'),
      col('AllowVolumeExpansion', (s: StorageClass) => String(!!s.allowVolumeExpansion)),
    ],
    defaults: defaultStorageClass,
    validate: withMeta('storageclasses'),
  },
  {
    group: 'events.k8s.io',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    singular: 'event',
    namespaced: true,
    shortNames: ['ev'],
    ttlSeconds: 3600,
    schemaName: 'io.k8s.api.events.v1.Event',
    // Kubernetes serves core/v1 events through this version too, converting field names; Skiff does
    // not convert yet, so events.k8s.io events are stored on their own.
    storagePrefix: 'events.k8s.io/events',
    columns: [
      col('Last Seen', (e: EventV1, now) =>
        since(e.deprecatedLastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp, now, '<unknown>'),
      ),
      col('Type', (e: EventV1) => e.type ?? ''),
      col('Reason', (e: EventV1) => e.reason ?? ''),
      col('Object', (e: EventV1) => `${(e.regarding?.kind ?? '').toLowerCase()}/${e.regarding?.name ?? ''}`),
      col('Message', (e: EventV1) => (e.note ?? '').trim()),
    ],
    noName: true,
    noAge: true,
    validate: withMeta('events'),
  },
  {
    group: 'scheduling.k8s.io',
    version: 'v1',
    kind: 'PriorityClass',
    plural: 'priorityclasses',
    singular: 'priorityclass',
    namespaced: false,
    shortNames: ['pc'],
    schemaName: 'io.k8s.api.scheduling.v1.PriorityClass',
    columns: [
      int('Value', (p: PriorityClass) => p.value),
      col('Global-Default', (p: PriorityClass) => String(!!p.globalDefault)),
      col('PreemptionPolicy', (p: PriorityClass) => p.preemptionPolicy ?? 'PreemptLowerPriority'),
    ],
    defaults: (p) => {
      (p as { preemptionPolicy?: string }).preemptionPolicy ??= 'PreemptLowerPriority';
    },
    validate: withMeta('priorityclasses'),
  },
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    statusSubresource: true,
    schemaName: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
    validate: withMeta('customresourcedefinitions', validateCrd),
  },
];
