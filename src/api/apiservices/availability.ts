// The Available condition of every APIService, as kube-aggregator's availability controllers set
// it: a local one (no service) is always True (reason Local); one naming a service says what is
// missing (ServiceNotFound, ServicePortError, EndpointsNotFound, MissingEndpoints) and, as Skiff
// does not proxy to other API servers, FailedDiscoveryCheck once the service is all there.
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import { nowTimestamp } from '../../k8s/time.js';
import type { APIService, APIServiceCondition } from './types.js';

type Condition = Omit<APIServiceCondition, 'lastTransitionTime'>;

const LOCAL: Condition = { type: 'Available', status: 'True', reason: 'Local', message: 'Local APIServices are always available' };

const unavailable = (reason: string, message: string): Condition => ({ type: 'Available', status: 'False', reason, message });

/** The Available condition an APIService should carry, given the service and endpoints it names. */
export function availableCondition(svc: APIService, service: Service | undefined, endpoints: Endpoints | undefined): Condition {
  const ref = svc.spec?.service;
  if (!ref) return LOCAL;
  const where = `service/${ref.name} in ${JSON.stringify(ref.namespace)}`;
  if (!service) return unavailable('ServiceNotFound', `${where} is not present`);
  if ((service.spec?.type ?? 'ClusterIP') === 'ClusterIP') {
    const port = ref.port ?? 443;
    const servicePort = service.spec?.ports?.find((p) => p.port === port);
    if (!servicePort) return unavailable('ServicePortError', `${where} is not listening on port ${port}`);
    if (!endpoints) return unavailable('EndpointsNotFound', `cannot find endpoints for ${where}`);
    const portName = servicePort.name ?? '';
    const active = (endpoints.subsets ?? []).some(
      (s) => (s.addresses ?? []).length > 0 && (s.ports ?? []).some((p) => (p.name ?? '') === portName),
    );
    if (!active)
      return unavailable('MissingEndpoints', `endpoints for ${where} have no addresses with port name ${JSON.stringify(portName)}`);
  }
  // Everything upstream checks before calling the server is there; Skiff does not call it.
  return unavailable('FailedDiscoveryCheck', `${where} is not reached: skiff does not proxy to aggregated API servers`);
}

/**
 * The status with `cond` set as upstream's helper sets it: the transition time moves only when the
 * status does. Undefined when nothing would change (no write needed).
 */
export function withCondition(svc: APIService, cond: Condition, now = nowTimestamp()): APIService['status'] | undefined {
  const conditions = [...(svc.status?.conditions ?? [])];
  const i = conditions.findIndex((c) => c.type === cond.type);
  const old = i >= 0 ? conditions[i] : undefined;
  if (old && old.status === cond.status && old.reason === cond.reason && old.message === cond.message) return undefined;
  const next: APIServiceCondition = {
    type: cond.type,
    status: cond.status,
    lastTransitionTime: old && old.status === cond.status ? old.lastTransitionTime : now,
    reason: cond.reason,
    message: cond.message,
  };
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
  return { ...svc.status, conditions };
}
