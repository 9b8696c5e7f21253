// networking.k8s.io/v1 and discovery.k8s.io/v1: how traffic finds pods.
import type { Ingress, NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { withMeta } from '../../validation/object-meta.js';
import type { ResourceDef } from '../types.js';
import { col, joined, selectorColumn } from './columns.js';

export const networkingResources: ResourceDef[] = [
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'Ingress',
    plural: 'ingresses',
    singular: 'ingress',
    namespaced: true,
    shortNames: ['ing'],
    statusSubresource: true,
    schemaName: 'io.k8s.api.networking.v1.Ingress',
    columns: [
      col('Class', (i: Ingress) => i.spec?.ingressClassName ?? '<none>'),
      col('Hosts', (i: Ingress) => (i.spec?.rules ?? []).map((r) => r.host ?? '*').join(',') || '*'),
      col('Address', (i: Ingress) => (i.status?.loadBalancer?.ingress ?? []).map((x) => x.ip ?? x.hostname).join(',')),
      col('Ports', (i: Ingress) => ((i.spec?.tls ?? []).length > 0 ? '80, 443' : '80')),
    ],
    validate: withMeta('ingresses'),
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'IngressClass',
    plural: 'ingressclasses',
    singular: 'ingressclass',
    namespaced: false,
    schemaName: 'io.k8s.api.networking.v1.IngressClass',
    columns: [
      col('Controller', (c) => (c.spec as { controller?: string } | undefined)?.controller ?? ''),
      col('Parameters', (c) => {
        const p = (c.spec as { parameters?: { kind: string; name: string; apiGroup?: string } } | undefined)?.parameters;
        return p ? `${p.kind}.${p.apiGroup ?? ''}/${p.name}` : '<none>';
      }),
    ],
    validate: withMeta('ingressclasses'),
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    namespaced: true,
    shortNames: ['netpol'],
    schemaName: 'io.k8s.api.networking.v1.NetworkPolicy',
    columns: [col('Pod-Selector', (n: NetworkPolicy) => selectorColumn(n.spec?.podSelector))],
    validate: withMeta('networkpolicies'),
  },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    singular: 'endpointslice',
    namespaced: true,
    schemaName: 'io.k8s.api.discovery.v1.EndpointSlice',
    columns: [
      col('AddressType', (e: EndpointSlice) => e.addressType),
      col('Ports', (e: EndpointSlice) => joined((e.ports ?? []).map((p) => (p.port === undefined ? '<unset>' : String(p.port))))),
      col('Endpoints', (e: EndpointSlice) => {
        const addrs = (e.endpoints ?? []).flatMap((x) => x.addresses);
        if (addrs.length === 0) return '<none>';
        return addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
      }),
    ],
    validate: withMeta('endpointslices'),
  },
];
