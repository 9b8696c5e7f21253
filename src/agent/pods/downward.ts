// The downward API: pod fields and container resources as strings, for environment variables and
// downwardAPI volume files alike.
import type { Container, ObjectFieldSelector, ResourceFieldSelector } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../../k8s/quantity.js';
import type { Writable } from '../../client/resources.js';
import type { P } from './labels.js';
import { ConfigError } from './sources.js';

/** The pod as its containers see it: with the addresses the agent has given it. */
export interface PodView {
  pod: P;
  podIPs: string[];
  hostIPs: string[];
}

const mapText = (m: Record<string, string> = {}) =>
  Object.keys(m)
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`)
    .join('\n');

export function fieldValue(view: PodView, ref: Writable<ObjectFieldSelector>, volume = false): string {
  const { pod } = view;
  const meta = pod.metadata!;
  const path = ref.fieldPath;
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name!;
    case 'metadata.namespace':
      return meta.namespace!;
    case 'metadata.uid':
      return meta.uid!;
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return view.podIPs[0] ?? '';
    case 'status.podIPs':
      return view.podIPs.join(',');
    case 'status.hostIP':
      return view.hostIPs[0] ?? '';
    case 'status.hostIPs':
      return view.hostIPs.join(',');
  }
  // Whole maps are for volumes only, as upstream.
  if (volume && path === 'metadata.labels') return mapText(meta.labels);
  if (volume && path === 'metadata.annotations') return mapText(meta.annotations);
  throw new ConfigError(`unsupported fieldPath: ${path}`);
}

/** A container's limit or request in units of the divisor, rounded up; limits default to the node's allocatable. */
export function resourceValue(
  view: PodView,
  container: Writable<Container> | undefined,
  ref: Writable<ResourceFieldSelector>,
  allocatable: Record<string, string>,
): string {
  const named = ref.containerName
    ? [...(view.pod.spec?.containers ?? []), ...(view.pod.spec?.initContainers ?? [])].find((c) => c.name === ref.containerName)
    : container;
  if (!named) throw new ConfigError(`resourceFieldRef names container ${ref.containerName ?? '(none)'}, which the pod does not have`);
  const [kind, resource] = ref.resource.split('.') as [string, string];
  if ((kind !== 'limits' && kind !== 'requests') || !resource) throw new ConfigError(`unsupported resource: ${ref.resource}`);
  const given = named.resources?.[kind]?.[resource];
  const value =
    given !== undefined
      ? parseQuantity(given as string)
      : kind === 'limits' && allocatable[resource]
        ? parseQuantity(allocatable[resource])
        : 0;
  const divisor = parseQuantity((ref.divisor as string | undefined) ?? '1') || 1;
  return String(Math.ceil(value / divisor - 1e-9));
}
