// The ServiceAccount admission step for pods: unless the pod or its service account opts out with
// automountServiceAccountToken: false, a pod gets the projected kube-api-access-<suffix> volume
// (a bound token renewed by the node, the cluster CA from kube-root-ca.crt, the namespace), mounted
// read-only in every container at /var/run/secrets/kubernetes.io/serviceaccount: what in-cluster
// clients read.
import { randomSuffix } from '../../k8s/names.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import type { Registry } from '../registry/registry.js';
import type { ObjectReader } from '../storage/object-store.js';
import type { AdmissionPlugin } from './plugin.js';

export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Upstream's token lifetime for this volume: an hour, plus a little so it is told apart. */
const TOKEN_SECONDS = 3607;

interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  volumes?: { name: string; [k: string]: unknown }[];
  containers?: { volumeMounts?: Mount[] }[];
  initContainers?: { volumeMounts?: Mount[] }[];
}

export function serviceAccountAdmission(objects: ObjectReader, registry: Registry): AdmissionPlugin {
  return {
    group: '',
    resource: 'pods',
    async admit(_def, obj: KObject, old) {
      if (old) return;
      const spec = obj.spec as PodSpec | undefined;
      if (!spec) return;
      // A mirror pod (of a node's static pod) gets no service account token, as upstream's admission skips it.
      if (obj.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) return;
      let automount = spec.automountServiceAccountToken;
      if (automount === undefined) {
        const sa = (await objects.tryGet(
          registry.byResource('', 'v1', 'serviceaccounts')!,
          obj.metadata?.namespace,
          spec.serviceAccountName ?? 'default',
        )) as (StoredObject & { automountServiceAccountToken?: boolean }) | undefined;
        automount = sa?.automountServiceAccountToken;
      }
      if (automount === false) return;
      const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
      if (containers.every((c) => c.volumeMounts?.some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT))) return;
      const name = `kube-api-access-${randomSuffix()}`;
      spec.volumes = [
        ...(spec.volumes ?? []),
        {
          name,
          projected: {
            defaultMode: 0o644,
            sources: [
              { serviceAccountToken: { expirationSeconds: TOKEN_SECONDS, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ];
      for (const c of containers) {
        if (c.volumeMounts?.some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT)) continue;
        c.volumeMounts = [...(c.volumeMounts ?? []), { name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT }];
      }
    },
  };
}
