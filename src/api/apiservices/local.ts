// Which APIServices the server itself answers for: one per served group/version, with upstream's
// priorities for the built-in ones (kube-apiserver's table) and 1000/100 for CustomResourceDefinitions'
// (the crd-autoregistration controller's values).
import type { Registry } from '../registry/registry.js';
import { AUTOMANAGED_LABEL, apiServiceName, type APIService } from './types.js';

/** group/version -> [groupPriorityMinimum, versionPriority], as kube-apiserver registers them. */
export const BUILTIN_PRIORITIES: Record<string, [number, number]> = {
  '/v1': [18000, 1],
  'apps/v1': [17800, 15],
  'events.k8s.io/v1': [17750, 15],
  'authentication.k8s.io/v1': [17700, 15],
  'authorization.k8s.io/v1': [17600, 15],
  'autoscaling/v1': [17500, 15],
  'autoscaling/v2': [17500, 30],
  'batch/v1': [17400, 15],
  'certificates.k8s.io/v1': [17300, 15],
  'networking.k8s.io/v1': [17200, 15],
  'policy/v1': [17100, 15],
  'rbac.authorization.k8s.io/v1': [17000, 15],
  'storage.k8s.io/v1': [16800, 15],
  'apiextensions.k8s.io/v1': [16700, 15],
  'admissionregistration.k8s.io/v1': [16700, 15],
  'scheduling.k8s.io/v1': [16600, 15],
  'coordination.k8s.io/v1': [16500, 15],
  'node.k8s.io/v1': [16300, 15],
  'discovery.k8s.io/v1': [16200, 15],
  'flowcontrol.apiserver.k8s.io/v1': [16100, 21],
  // K3s's Addon, a CRD there: the priorities its crd-autoregistration gives it.
  'k3s.cattle.io/v1': [1000, 100],
  // The metrics API, served by the server itself: metrics-server's APIService priorities.
  'metrics.k8s.io/v1beta1': [100, 100],
};

const CRD_PRIORITY: [number, number] = [1000, 100];

/** The aggregator serves its own group and registers no APIService for it, as upstream. */
const SELF = 'apiregistration.k8s.io';

function make(
  group: string,
  version: string,
  [groupPriorityMinimum, versionPriority]: [number, number],
  managed: 'onstart' | 'true',
): APIService {
  return {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: apiServiceName(group, version), labels: { [AUTOMANAGED_LABEL]: managed } },
    // No service: answered here (upstream omits the field rather than writing null).
    spec: { group, version, groupPriorityMinimum, versionPriority },
  };
}

/**
 * The local APIServices the registry calls for: built-in group/versions (`onstart`: reconciled when
 * the server starts) and those only custom resources serve (`true`: kept in step with their CRDs).
 * A CRD in a built-in group/version adds nothing, and a built-in one without a known priority is
 * skipped, as upstream does.
 */
export function desiredAPIServices(registry: Registry): APIService[] {
  const builtin = new Set<string>();
  const custom = new Set<string>();
  for (const d of registry.all()) (d.custom ? custom : builtin).add(`${d.group}/${d.version}`);
  const out: APIService[] = [];
  for (const gv of builtin) {
    const [group, version] = gv.split('/') as [string, string];
    const priority = BUILTIN_PRIORITIES[gv];
    if (group !== SELF && priority) out.push(make(group, version, priority, 'onstart'));
  }
  for (const gv of custom) {
    if (builtin.has(gv) || BUILTIN_PRIORITIES[gv]) continue;
    const [group, version] = gv.split('/') as [string, string];
    out.push(make(group, version, CRD_PRIORITY, 'true'));
  }
  return out;
}
