// Where a backend's traffic goes: the ready endpoints of its Service port, read from the Service's
// EndpointSlices (the port matched by the Service port's name, as kube-proxy does), taken in turn.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Backend } from './routes.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface Target {
  address: string;
  port: number;
}

/** The ready endpoints of `backend`, sorted; undefined when the Service or its port does not exist. */
export function targetsOf(backend: Backend, svc: Service | undefined, slices: EndpointSlice[]): Target[] | undefined {
  const sp = svc?.spec?.ports?.find((p) => (typeof backend.port === 'number' ? p.port === backend.port : p.name === backend.port));
  if (!sp || (sp.protocol ?? 'TCP') !== 'TCP') return undefined;
  const out: Target[] = [];
  for (const slice of slices) {
    if (slice.metadata?.labels?.[SERVICE_NAME_LABEL] !== backend.service || slice.addressType === 'FQDN') continue;
    const port = slice.ports?.find((p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === 'TCP')?.port;
    if (port === undefined) continue;
    for (const e of slice.endpoints ?? []) {
      if (e.conditions?.ready === false || !e.addresses?.[0]) continue;
      out.push({ address: e.addresses[0], port });
    }
  }
  return out.sort((a, b) => `${a.address}:${a.port}`.localeCompare(`${b.address}:${b.port}`));
}

/** Round robin over each backend's targets, by a counter of its own. */
export class RoundRobin {
  private readonly next = new Map<string, number>();

  pick(key: string, targets: Target[]): Target | undefined {
    if (targets.length === 0) return undefined;
    const i = this.next.get(key) ?? 0;
    this.next.set(key, (i + 1) % 1_000_000);
    return targets[i % targets.length];
  }
}
