// API discovery, both the aggregated form kubectl 1.32 asks for (two requests for everything) and
// the legacy per-group-version lists that older clients and `kubectl auth can-i` still read.
import type { Registry } from '../api/registry/registry.js';
import { allVerbs, type ResourceDef } from '../api/registry/types.js';
import { jsonResponse } from './negotiate.js';

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function wantsAggregated(accept: string | null): 'v2' | 'v2beta1' | undefined {
  for (const entry of (accept ?? '').split(',')) {
    if (!/as=APIGroupDiscoveryList/.test(entry) || !/g=apidiscovery\.k8s\.io/.test(entry)) continue;
    if (/v=v2(;|$|\s)/.test(entry)) return 'v2';
    if (/v=v2beta1/.test(entry)) return 'v2beta1';
  }
  return undefined;
}

const verbsOf = (def: ResourceDef) => [...(def.verbs ?? (def.virtual ? ['create'] : allVerbs))];

interface Subresource {
  name: string;
  group: string;
  version: string;
  kind: string;
  verbs: readonly string[];
}

function subresourcesOf(def: ResourceDef): Subresource[] {
  const subs: Subresource[] = [];
  if (def.statusSubresource)
    subs.push({ name: 'status', group: def.group, version: def.version, kind: def.kind, verbs: ['get', 'patch', 'update'] });
  if (def.scale) subs.push({ name: 'scale', group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
  for (const x of def.extraSubresources ?? []) {
    subs.push({ name: x.name, group: x.group ?? def.group, version: x.version ?? def.version, kind: x.kind, verbs: x.verbs });
  }
  return subs;
}

function aggregatedResource(def: ResourceDef) {
  return {
    resource: def.plural,
    responseKind: { group: def.group, version: def.version, kind: def.kind },
    scope: def.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: def.singular,
    verbs: verbsOf(def),
    ...(def.shortNames?.length ? { shortNames: def.shortNames } : {}),
    ...(def.categories?.length ? { categories: def.categories } : {}),
    subresources: subresourcesOf(def).map((s) => ({
      subresource: s.name,
      responseKind: { group: s.group, version: s.version, kind: s.kind },
      verbs: s.verbs,
    })),
  };
}

/** Groups in registration order, each with its versions (the first registered is preferred). */
function groups(registry: Registry, core: boolean): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const gv of registry.groupVersions()) {
    if ((gv.group === '') !== core) continue;
    const versions = out.get(gv.group) ?? [];
    if (!versions.includes(gv.version)) versions.push(gv.version);
    out.set(gv.group, versions);
  }
  return out;
}

export function aggregatedDiscovery(registry: Registry, core: boolean, version: 'v2' | 'v2beta1'): Response {
  const items = [...groups(registry, core)].map(([group, versions]) => ({
    metadata: { name: group },
    versions: versions.map((v) => ({
      version: v,
      freshness: 'Current',
      resources: registry.inGroupVersion(group, v).map(aggregatedResource),
    })),
  }));
  const contentType = AGGREGATED.replace('v=v2', `v=${version}`);
  return jsonResponse({ kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items }, 200, {
    'content-type': contentType,
  });
}

export function legacyCore(host: string): Response {
  return jsonResponse({
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }],
  });
}

function apiGroup(group: string, versions: string[]) {
  const gvs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: gvs, preferredVersion: gvs[0] };
}

export function legacyGroupList(registry: Registry): Response {
  const list = [...groups(registry, false)].map(([g, v]) => apiGroup(g, v));
  return jsonResponse({ kind: 'APIGroupList', apiVersion: 'v1', groups: list });
}

export function legacyGroup(registry: Registry, group: string): Response | undefined {
  const versions = groups(registry, false).get(group);
  return versions && jsonResponse({ kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, versions) });
}

export function resourceList(registry: Registry, group: string, version: string): Response | undefined {
  const defs = registry.inGroupVersion(group, version);
  if (defs.length === 0) return undefined;
  const resources = defs.flatMap((def) => [
    {
      name: def.plural,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: verbsOf(def),
      ...(def.shortNames?.length ? { shortNames: def.shortNames } : {}),
      ...(def.categories?.length ? { categories: def.categories } : {}),
    },
    ...subresourcesOf(def).map((s) => ({
      name: `${def.plural}/${s.name}`,
      singularName: '',
      namespaced: def.namespaced,
      ...(s.group !== def.group || s.version !== def.version ? { group: s.group, version: s.version } : {}),
      kind: s.kind,
      verbs: s.verbs,
    })),
  ]);
  return jsonResponse({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources });
}
