// core/v1: the kinds under /api/v1.
import type {
  Event,
  Namespace,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  ReplicationController,
  ResourceQuota,
  Secret,
  Service,
} from 'kubernetes-types/core/v1.js';
import { summarizePod } from '../../printers/pod.js';
import { defaultNamespace, defaultPod, defaultPV, defaultPVC, defaultSecret, defaultService } from '../../defaults/core.js';
import { validatePod, validateService, validateNamespace, validateConfigMapLike, validateNode } from '../../validation/core.js';
import { defaultReplicationController } from '../../defaults/workloads.js';
import { validateReplicationController } from '../../validation/workloads.js';
import { withMeta } from '../../validation/object-meta.js';
import { fieldsOf, type ResourceDef } from '../types.js';
import { namespaceDeletion, podDeletion } from './deletion-rules.js';
import { age, col, labelString, dataCount, int, joined, orNone, since, workloadWideColumns } from './columns.js';
import { validateClaimUpdate } from '../../validation/persistent-volume-claim.js';

const core = (d: Omit<ResourceDef, 'group' | 'version' | 'schemaName'>): ResourceDef => ({
  group: '',
  version: 'v1',
  schemaName: `io.k8s.api.core.v1.${d.kind}`,
  ...d,
});

function servicePorts(s: Service): string {
  const ports = s.spec?.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function externalIP(s: Service): string {
  const external = s.spec?.externalIPs ?? [];
  const lb = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname);
  switch (s.spec?.type) {
    case 'ExternalName':
      return s.spec.externalName ?? '<none>';
    case 'LoadBalancer':
      return joined([...lb, ...external]) === '<none>' ? '<pending>' : joined([...lb, ...external]);
    default:
      return joined(external);
  }
}

function nodeStatus(n: Node): string {
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
  // As kubectl shows it: any Ready condition but True (False or Unknown) is NotReady; none at all is Unknown.
  const states = [!ready ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (n.spec?.unschedulable) states.push('SchedulingDisabled');
  return states.join(',');
}

function nodeRoles(n: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(n.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length)
      roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

const nodeAddress = (type: string) => (n: Node) => orNone(n.status?.addresses?.find((a) => a.type === type)?.address);

const eventObject = (e: Event) => `${(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name ?? ''}`;

/** `kubectl get events` has no NAME first: LAST SEEN TYPE REASON OBJECT MESSAGE. */
export const eventColumns = [
  col('Last Seen', (e: Event, now) => since(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp, now, '<unknown>')),
  col('Type', (e: Event) => e.type ?? ''),
  col('Reason', (e: Event) => e.reason ?? ''),
  col('Object', eventObject),
  col('Subobject', (e: Event) => e.involvedObject.fieldPath ?? '', { wide: true }),
  col('Source', (e: Event) => [e.source?.component ?? e.reportingComponent, e.source?.host].filter(Boolean).join(', '), { wide: true }),
  col('Message', (e: Event) => (e.message ?? '').trim()),
  col('First Seen', (e: Event, now) => since(e.firstTimestamp ?? e.eventTime, now, '<unknown>'), { wide: true }),
  int('Count', (e: Event) => e.count ?? 1, true),
  col('Name', (e: Event) => e.metadata?.name ?? '', { wide: true }),
];

const accessModes = (modes: string[] | undefined) =>
  joined(modes?.map((m) => ({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' })[m] ?? m));

export const coreResources: ResourceDef[] = [
  core({
    kind: 'Namespace',
    plural: 'namespaces',
    singular: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
    statusSubresource: true,
    extraSubresources: [{ name: 'finalize', kind: 'Namespace', verbs: ['update'] }],
    selectableFields: { 'status.phase': (o) => (o.status as { phase?: string } | undefined)?.phase },
    columns: [col('Status', (o: Namespace) => o.status?.phase ?? '')],
    defaults: defaultNamespace,
    validate: withMeta('namespaces', validateNamespace),
    deletion: namespaceDeletion,
  }),
  core({
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    statusSubresource: true,
    deletion: podDeletion,
    extraSubresources: [
      { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
      { name: 'ephemeralcontainers', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      { name: 'proxy', kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    ],
    selectableFields: fieldsOf({
      'spec.nodeName': (o: Pod) => o.spec?.nodeName ?? '',
      'spec.restartPolicy': (o: Pod) => o.spec?.restartPolicy,
      'spec.schedulerName': (o: Pod) => o.spec?.schedulerName,
      'spec.serviceAccountName': (o: Pod) => o.spec?.serviceAccountName,
      'spec.hostNetwork': (o: Pod) => String(!!o.spec?.hostNetwork),
      'status.phase': (o: Pod) => o.status?.phase,
      'status.podIP': (o: Pod) => o.status?.podIP ?? '',
      'status.nominatedNodeName': (o: Pod) => o.status?.nominatedNodeName ?? '',
    }),
    columns: [
      col('Ready', (p: Pod, now) => summarizePod(p, now).ready),
      col('Status', (p: Pod, now) => summarizePod(p, now).status),
      col('Restarts', (p: Pod, now) => summarizePod(p, now).restarts),
      age,
      col('IP', (p: Pod) => orNone(p.status?.podIP), { wide: true }),
      col('Node', (p: Pod) => orNone(p.spec?.nodeName), { wide: true }),
      col('Nominated Node', (p: Pod) => orNone(p.status?.nominatedNodeName), { wide: true }),
      col(
        'Readiness Gates',
        (p: Pod) => {
          const gates = p.spec?.readinessGates ?? [];
          if (gates.length === 0) return '<none>';
          const met = gates.filter((g) => p.status?.conditions?.some((c) => c.type === g.conditionType && c.status === 'True')).length;
          return `${met}/${gates.length}`;
        },
        { wide: true },
      ),
    ],
    defaults: defaultPod,
    validate: withMeta('pods', validatePod),
  }),
  core({
    kind: 'Node',
    plural: 'nodes',
    singular: 'node',
    namespaced: false,
    shortNames: ['no'],
    statusSubresource: true,
    extraSubresources: [{ name: 'proxy', kind: 'NodeProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }],
    selectableFields: { 'spec.unschedulable': (o) => String(!!(o.spec as { unschedulable?: boolean } | undefined)?.unschedulable) },
    columns: [
      col('Status', nodeStatus),
      col('Roles', nodeRoles),
      age,
      col('Version', (n: Node) => n.status?.nodeInfo?.kubeletVersion ?? ''),
      col('Internal-IP', nodeAddress('InternalIP'), { wide: true }),
      col('External-IP', nodeAddress('ExternalIP'), { wide: true }),
      col('OS-Image', (n: Node) => n.status?.nodeInfo?.osImage || '<unknown>', { wide: true }),
      col('Kernel-Version', (n: Node) => n.status?.nodeInfo?.kernelVersion || '<unknown>', { wide: true }),
      col('Container-Runtime', (n: Node) => n.status?.nodeInfo?.containerRuntimeVersion || '<unknown>', { wide: true }),
    ],
    validate: withMeta('nodes', validateNode),
  }),
  core({
    kind: 'Service',
    plural: 'services',
    singular: 'service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    statusSubresource: true,
    extraSubresources: [{ name: 'proxy', kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }],
    selectableFields: fieldsOf({ 'spec.clusterIP': (o: Service) => o.spec?.clusterIP ?? '', 'spec.type': (o: Service) => o.spec?.type }),
    columns: [
      col('Type', (s: Service) => s.spec?.type ?? 'ClusterIP'),
      col('Cluster-IP', (s: Service) => orNone(s.spec?.clusterIP)),
      col('External-IP', externalIP),
      col('Port(s)', servicePorts),
      age,
      col('Selector', (s: Service) => labelString(s.spec?.selector), { wide: true }),
    ],
    defaults: defaultService,
    validate: withMeta('services', validateService),
  }),
  core({
    kind: 'ReplicationController',
    plural: 'replicationcontrollers',
    singular: 'replicationcontroller',
    namespaced: true,
    shortNames: ['rc'],
    categories: ['all'],
    statusSubresource: true,
    scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.spec.selector' },
    columns: [
      int('Desired', (r: ReplicationController) => r.spec?.replicas),
      int('Current', (r: ReplicationController) => r.status?.replicas),
      int('Ready', (r: ReplicationController) => r.status?.readyReplicas),
      age,
      ...workloadWideColumns(undefined, false),
      // A plain label map, printed with sorted keys as kubectl's labels.FormatLabels does.
      col(
        'Selector',
        (r: ReplicationController) =>
          labelString(Object.fromEntries(Object.entries(r.spec?.selector ?? {}).sort(([a], [b]) => a.localeCompare(b)))),
        { wide: true },
      ),
    ],
    defaults: defaultReplicationController,
    validate: withMeta('replicationcontrollers', validateReplicationController),
  }),
  core({
    kind: 'Endpoints',
    plural: 'endpoints',
    singular: 'endpoints',
    namespaced: true,
    shortNames: ['ep'],
    columns: [
      col('Endpoints', (e) => {
        const addrs = ((e.subsets ?? []) as { addresses?: { ip: string }[]; ports?: { port: number }[] }[]).flatMap((s) =>
          (s.addresses ?? []).flatMap((a) => ((s.ports ?? []).length ? s.ports!.map((p) => `${a.ip}:${p.port}`) : [a.ip])),
        );
        return addrs.length === 0
          ? '<none>'
          : addrs.length > 3
            ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...`
            : addrs.join(',');
      }),
    ],
    validate: withMeta('endpoints'),
  }),
  core({
    kind: 'ConfigMap',
    plural: 'configmaps',
    singular: 'configmap',
    namespaced: true,
    shortNames: ['cm'],
    columns: [int('Data', dataCount)],
    validate: withMeta('configmaps', validateConfigMapLike),
  }),
  core({
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    namespaced: true,
    selectableFields: { type: (o) => (o as Secret).type },
    columns: [col('Type', (s: Secret) => s.type ?? ''), int('Data', dataCount)],
    defaults: defaultSecret,
    validate: withMeta('secrets', validateConfigMapLike),
  }),
  core({
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    namespaced: true,
    shortNames: ['sa'],
    extraSubresources: [{ name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] }],
    columns: [int('Secrets', (o) => (o.secrets as unknown[] | undefined)?.length ?? 0)],
    validate: withMeta('serviceaccounts'),
  }),
  core({
    kind: 'Event',
    plural: 'events',
    singular: 'event',
    namespaced: true,
    shortNames: ['ev'],
    ttlSeconds: 3600,
    selectableFields: fieldsOf(
      Object.fromEntries([
        ...['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((f) => [
          `involvedObject.${f}`,
          (e: Event) => (e.involvedObject as Record<string, string | undefined>)[f] ?? '',
        ]),
        ['reason', (e: Event) => e.reason ?? ''],
        ['reportingComponent', (e: Event) => e.reportingComponent ?? ''],
        ['source', (e: Event) => e.source?.component ?? e.reportingComponent ?? ''],
        ['type', (e: Event) => e.type ?? ''],
      ] as [string, (e: Event) => string][]),
    ),
    columns: eventColumns,
    noName: true,
    noAge: true,
    validate: withMeta('events'),
  }),
  core({
    kind: 'PersistentVolume',
    plural: 'persistentvolumes',
    singular: 'persistentvolume',
    namespaced: false,
    shortNames: ['pv'],
    statusSubresource: true,
    columns: [
      col('Capacity', (v: PersistentVolume) => String(v.spec?.capacity?.storage ?? '')),
      col('Access Modes', (v: PersistentVolume) => accessModes(v.spec?.accessModes)),
      col('Reclaim Policy', (v: PersistentVolume) => v.spec?.persistentVolumeReclaimPolicy ?? ''),
      col('Status', (v: PersistentVolume) => v.status?.phase ?? ''),
      col('Claim', (v: PersistentVolume) => (v.spec?.claimRef ? `${v.spec.claimRef.namespace}/${v.spec.claimRef.name}` : '')),
      col('StorageClass', (v: PersistentVolume) => v.spec?.storageClassName ?? ''),
      col('VolumeAttributesClass', (v: PersistentVolume) =>
        orNone((v.spec as { volumeAttributesClassName?: string } | undefined)?.volumeAttributesClassName),
      ),
      col('Reason', (v: PersistentVolume) => v.status?.reason ?? ''),
    ],
    defaults: defaultPV,
    validate: withMeta('persistentvolumes'),
  }),
  core({
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    singular: 'persistentvolumeclaim',
    namespaced: true,
    shortNames: ['pvc'],
    statusSubresource: true,
    columns: [
      col('Status', (c: PersistentVolumeClaim) => c.status?.phase ?? ''),
      col('Volume', (c: PersistentVolumeClaim) => c.spec?.volumeName ?? ''),
      col('Capacity', (c: PersistentVolumeClaim) => String(c.status?.capacity?.storage ?? '')),
      col('Access Modes', (c: PersistentVolumeClaim) => (c.status?.accessModes ? accessModes(c.status.accessModes) : '')),
      col('StorageClass', (c: PersistentVolumeClaim) => c.spec?.storageClassName ?? ''),
      col('VolumeAttributesClass', (c: PersistentVolumeClaim) =>
        orNone((c.spec as { volumeAttributesClassName?: string } | undefined)?.volumeAttributesClassName),
      ),
    ],
    defaults: defaultPVC,
    validate: withMeta('persistentvolumeclaims', validateClaimUpdate),
  }),
  core({
    kind: 'LimitRange',
    plural: 'limitranges',
    singular: 'limitrange',
    namespaced: true,
    shortNames: ['limits'],
    validate: withMeta('limitranges'),
  }),
  core({
    kind: 'ResourceQuota',
    plural: 'resourcequotas',
    singular: 'resourcequota',
    namespaced: true,
    shortNames: ['quota'],
    statusSubresource: true,
    columns: [
      col('Request', (q: ResourceQuota) => quotaUsage(q, (k) => !k.startsWith('limits.'))),
      col('Limit', (q: ResourceQuota) => quotaUsage(q, (k) => k.startsWith('limits.'))),
    ],
    validate: withMeta('resourcequotas'),
  }),
];

function quotaUsage(
  q: { status?: { hard?: Record<string, string>; used?: Record<string, string> } },
  pick: (key: string) => boolean,
): string {
  const hard = q.status?.hard ?? {};
  return Object.keys(hard)
    .filter(pick)
    .sort()
    .map((k) => `${k}: ${q.status?.used?.[k] ?? '0'}/${hard[k]}`)
    .join(', ');
}
