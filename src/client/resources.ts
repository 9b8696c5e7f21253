// The kinds the control plane and agents work with, each a typed handle for the REST client.
import type { ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { CertificateSigningRequest } from 'kubernetes-types/certificates/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type {
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  ReplicationController,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass, NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import type { ClusterRole } from 'kubernetes-types/rbac/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.js';

import type { Writable } from '../k8s/object.js';

export type { Writable };

export interface ResourceType<T> {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Only carries T for type inference. */
  readonly _type?: T;
}

const type = <T>(group: string, version: string, resource: string, kind: string, namespaced = true): ResourceType<T> => ({
  group,
  version,
  resource,
  kind,
  namespaced,
});

export const namespaces = type<Writable<Namespace>>('', 'v1', 'namespaces', 'Namespace', false);
export const nodes = type<Writable<Node>>('', 'v1', 'nodes', 'Node', false);
export const pods = type<Writable<Pod>>('', 'v1', 'pods', 'Pod');
export const services = type<Writable<Service>>('', 'v1', 'services', 'Service');
export const endpoints = type<Writable<Endpoints>>('', 'v1', 'endpoints', 'Endpoints');
export const configMaps = type<Writable<ConfigMap>>('', 'v1', 'configmaps', 'ConfigMap');
export const secrets = type<Writable<Secret>>('', 'v1', 'secrets', 'Secret');
export const serviceAccounts = type<Writable<ServiceAccount>>('', 'v1', 'serviceaccounts', 'ServiceAccount');
export const events = type<Writable<Event>>('', 'v1', 'events', 'Event');
export const persistentVolumeClaims = type<Writable<PersistentVolumeClaim>>('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim');
export const persistentVolumes = type<Writable<PersistentVolume>>('', 'v1', 'persistentvolumes', 'PersistentVolume', false);
export const storageClasses = type<Writable<StorageClass>>('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false);
export const replicationControllers = type<Writable<ReplicationController>>('', 'v1', 'replicationcontrollers', 'ReplicationController');
export const deployments = type<Writable<Deployment>>('apps', 'v1', 'deployments', 'Deployment');
export const replicaSets = type<Writable<ReplicaSet>>('apps', 'v1', 'replicasets', 'ReplicaSet');
export const statefulSets = type<Writable<StatefulSet>>('apps', 'v1', 'statefulsets', 'StatefulSet');
export const daemonSets = type<Writable<DaemonSet>>('apps', 'v1', 'daemonsets', 'DaemonSet');
export const controllerRevisions = type<Writable<ControllerRevision>>('apps', 'v1', 'controllerrevisions', 'ControllerRevision');
export const jobs = type<Writable<Job>>('batch', 'v1', 'jobs', 'Job');
export const cronJobs = type<Writable<CronJob>>('batch', 'v1', 'cronjobs', 'CronJob');
export const leases = type<Writable<Lease>>('coordination.k8s.io', 'v1', 'leases', 'Lease');
export const certificateSigningRequests = type<Writable<CertificateSigningRequest>>(
  'certificates.k8s.io',
  'v1',
  'certificatesigningrequests',
  'CertificateSigningRequest',
  false,
);
export const endpointSlices = type<Writable<EndpointSlice>>('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice');
export const networkPolicies = type<Writable<NetworkPolicy>>('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy');
export const ingresses = type<Writable<Ingress>>('networking.k8s.io', 'v1', 'ingresses', 'Ingress');
export const ingressClasses = type<Writable<IngressClass>>('networking.k8s.io', 'v1', 'ingressclasses', 'IngressClass', false);
export const clusterRoles = type<Writable<ClusterRole>>('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false);
export const priorityClasses = type<Writable<PriorityClass>>('scheduling.k8s.io', 'v1', 'priorityclasses', 'PriorityClass', false);
export const customResourceDefinitions = type<Writable<CustomResourceDefinition>>(
  'apiextensions.k8s.io',
  'v1',
  'customresourcedefinitions',
  'CustomResourceDefinition',
  false,
);

/** The object with its apiVersion and kind filled in (list items come without them; events need them). */
export function withType<T extends object>(type: ResourceType<T>, obj: T): T & { apiVersion: string; kind: string } {
  return { ...obj, apiVersion: type.group ? `${type.group}/${type.version}` : type.version, kind: type.kind };
}

/** Any resource, known only at run time (the garbage collector and namespace controller use these). */
export const dynamic = (group: string, version: string, resource: string, kind: string, namespaced: boolean) =>
  type<KubeObject>(group, version, resource, kind, namespaced);

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: import('kubernetes-types/meta/v1.js').ObjectMeta;
  [field: string]: unknown;
}
