// Services get a cluster IP and, for NodePort and LoadBalancer, node ports. Allocations are kept in
// memory, rebuilt from the stored services at start, and undone when a write does not happen.
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { invalid, type FieldError } from '../../k8s/errors.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { ResourceDef } from '../registry/types.js';
import type { AdmissionPlugin } from './plugin.js';
import { IPAllocator, PortAllocator } from './allocators.js';

type Spec = NonNullable<Service['spec']> & { clusterIP?: string; clusterIPs?: string[] };

const needsNodePorts = (spec: Spec) => spec.type === 'NodePort' || spec.type === 'LoadBalancer';
const hasClusterIP = (spec: Spec) => spec.type !== 'ExternalName' && spec.clusterIP !== 'None';

function specOf(obj: KObject): Spec {
  return (obj.spec ??= {}) as Spec;
}

export class ServiceAllocations implements AdmissionPlugin {
  readonly group = '';
  readonly resource = 'services';
  readonly ips: IPAllocator;

  readonly ports: PortAllocator;

  constructor(serviceCIDR: string, nodePortRange: [number, number] = [30000, 32767]) {
    this.ips = new IPAllocator(serviceCIDR);
    this.ports = new PortAllocator(...nodePortRange);
  }

  /** Records what stored services already hold (at start). */
  adopt(services: StoredObject[]): void {
    for (const svc of services) {
      const spec = specOf(svc);
      if (spec.clusterIP && this.ips.contains(spec.clusterIP)) this.ips.claim(spec.clusterIP);
      for (const p of spec.ports ?? []) if (p.nodePort) this.ports.claim(p.nodePort);
    }
  }

  async admit(def: ResourceDef, obj: KObject, old: StoredObject | undefined): Promise<void> {
    const spec = specOf(obj);
    const oldSpec = old ? specOf(old) : undefined;
    const errors: FieldError[] = [];
    const claimedIP: string[] = [];
    const claimedPorts: number[] = [];

    if (hasClusterIP(spec)) {
      if (!spec.clusterIP && oldSpec?.clusterIP && hasClusterIP(oldSpec)) spec.clusterIP = oldSpec.clusterIP;
      if (!spec.clusterIP) {
        const ip = this.ips.allocate();
        if (ip) claimedIP.push((spec.clusterIP = ip));
        else
          errors.push({
            field: 'spec.clusterIPs',
            type: 'FieldValueInvalid',
            detail: `Internal error: failed to allocate a service IP: range ${this.ips.cidr} is full`,
          });
      } else if (spec.clusterIP !== oldSpec?.clusterIP) {
        if (oldSpec?.clusterIP && hasClusterIP(oldSpec)) {
          errors.push({
            field: 'spec.clusterIPs[0]',
            type: 'FieldValueInvalid',
            detail: `Invalid value: []string{"${spec.clusterIP}"}: may not change once set`,
          });
        } else if (!this.ips.contains(spec.clusterIP)) {
          errors.push({
            field: 'spec.clusterIPs',
            type: 'FieldValueInvalid',
            detail:
              `Invalid value: []string{"${spec.clusterIP}"}: failed to allocate IP ${spec.clusterIP}: ` +
              `the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${this.ips.cidr}`,
          });
        } else if (!this.ips.claim(spec.clusterIP)) {
          errors.push({
            field: 'spec.clusterIPs',
            type: 'FieldValueInvalid',
            detail:
              `Invalid value: []string{"${spec.clusterIP}"}: failed to allocate IP ${spec.clusterIP}: ` +
              'provided IP is already allocated',
          });
        } else claimedIP.push(spec.clusterIP);
      }
      spec.clusterIPs = [spec.clusterIP!];
    }

    if (needsNodePorts(spec)) {
      const held = new Set((oldSpec?.ports ?? []).map((p) => p.nodePort).filter((p): p is number => !!p));
      (spec.ports ?? []).forEach((p: ServicePort, i) => {
        if (!p.nodePort) {
          const port = this.ports.allocate();
          if (port) claimedPorts.push(((p as { nodePort?: number }).nodePort = port));
          else
            errors.push({
              field: `spec.ports[${i}].nodePort`,
              type: 'FieldValueInvalid',
              detail: 'Internal error: failed to allocate a node port: the range is full',
            });
        } else if (!held.has(p.nodePort)) {
          if (!this.ports.contains(p.nodePort)) {
            errors.push({
              field: `spec.ports[${i}].nodePort`,
              type: 'FieldValueInvalid',
              detail:
                `Invalid value: ${p.nodePort}: provided port is not in the valid range. ` +
                `The range of valid ports is ${this.ports.min}-${this.ports.max}`,
            });
          } else if (!this.ports.claim(p.nodePort)) {
            errors.push({
              field: `spec.ports[${i}].nodePort`,
              type: 'FieldValueInvalid',
              detail: `Invalid value: ${p.nodePort}: provided port is already allocated`,
            });
          } else claimedPorts.push(p.nodePort);
        }
      });
    }
    if (errors.length > 0) {
      for (const ip of claimedIP) this.ips.release(ip);
      for (const p of claimedPorts) this.ports.release(p);
      throw invalid(def.kind, def.group, obj.metadata?.name ?? '', errors);
    }
  }

  /** What `obj` holds that `kept` does not: released after a delete, an update, or a failed write. */
  private releaseDifference(obj: KObject, kept: KObject | undefined): void {
    const spec = specOf(obj);
    const keptSpec = kept ? specOf(kept) : undefined;
    if (spec.clusterIP && hasClusterIP(spec) && spec.clusterIP !== keptSpec?.clusterIP && this.ips.contains(spec.clusterIP))
      this.ips.release(spec.clusterIP);
    const keptPorts = new Set((keptSpec && needsNodePorts(keptSpec) ? (keptSpec.ports ?? []) : []).map((p) => p.nodePort));
    for (const p of spec.ports ?? []) if (p.nodePort && !keptPorts.has(p.nodePort)) this.ports.release(p.nodePort);
  }

  async released(_def: ResourceDef, obj: StoredObject): Promise<void> {
    this.releaseDifference(obj, undefined);
  }

  async stored(_def: ResourceDef, obj: KObject, old: StoredObject | undefined): Promise<void> {
    if (old) this.releaseDifference(old, obj);
  }

  async abandoned(_def: ResourceDef, obj: KObject, old: StoredObject | undefined): Promise<void> {
    this.releaseDifference(obj, old);
  }
}
