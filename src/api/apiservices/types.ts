// The shape of apiregistration.k8s.io/v1 APIService, which kubernetes-types does not carry (its
// schema comes from @kubernetes/client-node's models: scripts/openapi/apiregistration.mjs).
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

export interface ServiceReference {
  namespace?: string;
  name?: string;
  port?: number;
}

export interface APIServiceCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface APIService {
  apiVersion?: 'apiregistration.k8s.io/v1';
  kind?: 'APIService';
  metadata?: ObjectMeta;
  spec?: {
    group?: string;
    version?: string;
    groupPriorityMinimum?: number;
    versionPriority?: number;
    service?: ServiceReference | null;
    caBundle?: string;
    insecureSkipTLSVerify?: boolean;
  };
  status?: { conditions?: APIServiceCondition[] };
}

/** The label kube-aggregator's autoregistration marks its APIServices with: `onstart` or `true`. */
export const AUTOMANAGED_LABEL = 'kube-aggregator.kubernetes.io/automanaged';

/** `version.group`; the core group's is `v1.`. */
export const apiServiceName = (group: string, version: string) => `${version}.${group}`;
