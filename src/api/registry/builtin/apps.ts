// apps/v1: the workload controllers' kinds.
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import { defaultDaemonSet, defaultDeployment, defaultReplicaSet, defaultStatefulSet } from '../../defaults/workloads.js';
import { validateWorkload } from '../../validation/workloads.js';
import { withMeta } from '../../validation/object-meta.js';
import type { KObject } from '../../../k8s/object.js';
import type { ResourceDef } from '../types.js';
import { age, col, int, labelString, workloadWideColumns } from './columns.js';

const apps = (d: Omit<ResourceDef, 'group' | 'version' | 'schemaName'>): ResourceDef => ({
  group: 'apps',
  version: 'v1',
  schemaName: `io.k8s.api.apps.v1.${d.kind}`,
  ...d,
});

const scale = { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.spec.selector' };

export const appsResources: ResourceDef[] = [
  apps({
    kind: 'Deployment',
    plural: 'deployments',
    singular: 'deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    statusSubresource: true,
    scale,
    columns: [
      col('Ready', (d: Deployment) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`),
      int('Up-to-date', (d: Deployment) => d.status?.updatedReplicas),
      int('Available', (d: Deployment) => d.status?.availableReplicas),
      age,
      ...workloadWideColumns(),
    ],
    defaults: defaultDeployment,
    validate: withMeta('deployments', validateWorkload('Deployment')),
  }),
  apps({
    kind: 'ReplicaSet',
    plural: 'replicasets',
    singular: 'replicaset',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
    statusSubresource: true,
    scale,
    columns: [
      int('Desired', (r: ReplicaSet) => r.spec?.replicas),
      int('Current', (r: ReplicaSet) => r.status?.replicas),
      int('Ready', (r: ReplicaSet) => r.status?.readyReplicas),
      age,
      ...workloadWideColumns(),
    ],
    defaults: defaultReplicaSet,
    validate: withMeta('replicasets', validateWorkload('ReplicaSet')),
  }),
  apps({
    kind: 'StatefulSet',
    plural: 'statefulsets',
    singular: 'statefulset',
    namespaced: true,
    shortNames: ['sts'],
    categories: ['all'],
    statusSubresource: true,
    scale,
    columns: [
      col('Ready', (s: StatefulSet) => `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 0}`),
      age,
      ...workloadWideColumns(undefined, false),
    ],
    defaults: defaultStatefulSet,
    validate: withMeta('statefulsets', validateWorkload('StatefulSet')),
  }),
  apps({
    kind: 'DaemonSet',
    plural: 'daemonsets',
    singular: 'daemonset',
    namespaced: true,
    shortNames: ['ds'],
    categories: ['all'],
    statusSubresource: true,
    columns: [
      int('Desired', (d: DaemonSet) => d.status?.desiredNumberScheduled),
      int('Current', (d: DaemonSet) => d.status?.currentNumberScheduled),
      int('Ready', (d: DaemonSet) => d.status?.numberReady),
      int('Up-to-date', (d: DaemonSet) => d.status?.updatedNumberScheduled),
      int('Available', (d: DaemonSet) => d.status?.numberAvailable),
      col('Node Selector', (d: DaemonSet) => labelString(d.spec?.template?.spec?.nodeSelector)),
      age,
      ...workloadWideColumns(),
    ],
    defaults: defaultDaemonSet,
    validate: withMeta('daemonsets', validateWorkload('DaemonSet')),
  }),
  apps({
    kind: 'ControllerRevision',
    plural: 'controllerrevisions',
    singular: 'controllerrevision',
    namespaced: true,
    columns: [
      col('Controller', (r: KObject) => {
        const owner = r.metadata?.ownerReferences?.find((o) => o.controller);
        return owner ? `${owner.kind.toLowerCase()}.${owner.apiVersion.split('/')[0]}/${owner.name}` : '<none>';
      }),
      int('Revision', (r: { revision?: number }) => r.revision),
    ],
    validate: withMeta('controllerrevisions'),
  }),
];
