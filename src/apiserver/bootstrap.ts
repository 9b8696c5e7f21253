// Objects every cluster has from its first start: the system namespaces and priority classes, and
// the `kubernetes` Service that points pods at the API server.
import { ApiError } from '../k8s/errors.js';
import type { KObject } from '../k8s/object.js';
import type { Registry } from '../api/registry/registry.js';
import type { ResourceDef } from '../api/registry/types.js';
import type { ObjectStore } from '../api/storage/object-store.js';
import { SYSTEM_PRIORITY_CLASSES } from '../api/admission/priority.js';
import type { ApiServerAddress } from './apiserver-endpoints.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

async function createIfMissing(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
  }
}

export async function ensureSystemNamespaces(objects: ObjectStore, registry: Registry): Promise<void> {
  const namespaces = registry.byResource('', 'v1', 'namespaces')!;
  for (const name of SYSTEM_NAMESPACES) await createIfMissing(() => objects.create(namespaces, undefined, { metadata: { name } }));
}

export async function ensureSystemPriorityClasses(objects: ObjectStore, registry: Registry): Promise<void> {
  const classes = registry.byResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  for (const { name, value, description } of SYSTEM_PRIORITY_CLASSES) {
    await createIfMissing(() =>
      objects.create(classes, undefined, {
        apiVersion: 'scheduling.k8s.io/v1',
        kind: 'PriorityClass',
        metadata: { name },
        value,
        description,
        preemptionPolicy: 'PreemptLowerPriority',
      }),
    );
  }
}

/**
 * default/kubernetes: a ClusterIP Service on the first service address, port 443, whose Endpoints
 * and EndpointSlice name the API servers that are up (apiserver-endpoints.ts keeps the list),
 * written only when they change.
 */
export async function ensureKubernetesService(
  objects: ObjectStore,
  registry: Registry,
  clusterIP: string,
  servers: ApiServerAddress[],
): Promise<void> {
  const services = registry.byResource('', 'v1', 'services')!;
  const labels = { component: 'apiserver', provider: 'kubernetes' };
  // The Service's target port is the first server's; the servers of one cluster normally share it.
  const port = servers[0]?.port ?? 6443;
  // Looked up first: creating it again would fail on its already allocated address, not as a duplicate.
  if (!(await objects.tryGet(services, 'default', 'kubernetes'))) {
    const spec = {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      sessionAffinity: 'None',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }],
    };
    await createIfMissing(() =>
      objects.create(services, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', labels }, spec }),
    );
  }
  const ports = [...new Set(servers.map((s) => s.port))];
  const endpoints = registry.byResource('', 'v1', 'endpoints')!;
  const subsets = ports.map((p) => ({
    addresses: servers.filter((s) => s.port === p).map((s) => ({ ip: s.address })),
    ports: [{ name: 'https', port: p, protocol: 'TCP' }],
  }));
  await upsert(objects, endpoints, 'subsets', {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets,
  });
  const slices = registry.byResource('discovery.k8s.io', 'v1', 'endpointslices')!;
  await upsert(objects, slices, 'endpoints', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
    addressType: 'IPv4',
    endpoints: servers.filter((s) => s.port === port).map((s) => ({ addresses: [s.address], conditions: { ready: true } })),
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  });
}

/**
 * kube-system/kube-dns at the cluster DNS address, as clusters that run CoreDNS have it (tools look
 * for it; it also keeps the address from being given to another Service). It selects no pods: every
 * node answers at that address itself, and the node's Service rules leave it alone.
 */
export async function ensureClusterDnsService(objects: ObjectStore, registry: Registry, clusterIP: string): Promise<void> {
  const services = registry.byResource('', 'v1', 'services')!;
  if (await objects.tryGet(services, 'kube-system', 'kube-dns')) return;
  const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'SkiffDNS' };
  const ports = [
    { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
    { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
  ];
  const spec = { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], sessionAffinity: 'None', ports };
  await createIfMissing(() =>
    objects.create(services, 'kube-system', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns', labels }, spec }),
  );
}

/** Creates the object, or updates it when its `field` or labels differ (no write when nothing changed). */
async function upsert(objects: ObjectStore, def: ResourceDef, field: string, obj: KObject): Promise<void> {
  const current = await objects.tryGet(def, obj.metadata!.namespace, obj.metadata!.name!);
  if (!current) return createIfMissing(() => objects.create(def, obj.metadata!.namespace, obj));
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  if (
    same((current as Record<string, unknown>)[field], (obj as Record<string, unknown>)[field]) &&
    same(current.metadata?.labels, obj.metadata!.labels)
  )
    return;
  // Servers starting together write it at once: the one that loses the race writes over the winner's.
  await objects.guaranteedUpdate(def, obj.metadata!.namespace, obj.metadata!.name!, (latest) => ({
    ...obj,
    metadata: { ...latest.metadata, labels: obj.metadata!.labels },
  }));
}
