// What the agent reads from the API to start a pod: ConfigMaps, Secrets, Services (for their
// environment variables), PersistentVolumes, service account tokens, and the node's allocatable
// resources (the default for resource fields of containers without limits).
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret, Service } from 'kubernetes-types/core/v1.js';
import { isNotFound } from '../../k8s/errors.js';
import type { ApiClient } from '../../client/rest-client.js';
import { configMaps, dynamic, persistentVolumeClaims, secrets, serviceAccounts, services, type Writable } from '../../client/resources.js';
import type { P } from './labels.js';

/** A configuration error: the container cannot be created until it is fixed (CreateContainerConfigError). */
export class ConfigError extends Error {}

export interface PodSources {
  configMap(namespace: string, name: string): Promise<Writable<ConfigMap> | undefined>;
  secret(namespace: string, name: string): Promise<Writable<Secret> | undefined>;
  services(namespace: string): Promise<Writable<Service>[]>;
  claim(namespace: string, name: string): Promise<Writable<PersistentVolumeClaim> | undefined>;
  volume(name: string): Promise<Writable<PersistentVolume> | undefined>;
  serviceAccountToken(
    pod: P,
    audience: string | undefined,
    expirationSeconds: number,
  ): Promise<{ token: string; expirationTimestamp: string }>;
  allocatable(): Record<string, string>;
}

const orUndefined = <T>(p: Promise<T>) => p.catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));

const persistentVolumes = dynamic('', 'v1', 'persistentvolumes', 'PersistentVolume', false);

export function apiSources(api: ApiClient, allocatable: () => Record<string, string>): PodSources {
  const cms = api.resource(configMaps);
  const secs = api.resource(secrets);
  const svcs = api.resource(services);
  const pvcs = api.resource(persistentVolumeClaims);
  const pvs = api.resource(persistentVolumes);
  const sas = api.resource(serviceAccounts);
  return {
    configMap: (ns, name) => orUndefined(cms.get(ns, name)),
    secret: (ns, name) => orUndefined(secs.get(ns, name)),
    services: async (ns) => (await svcs.list(ns)).items,
    claim: (ns, name) => orUndefined(pvcs.get(ns, name)),
    volume: (name) => orUndefined(pvs.get(undefined, name)) as Promise<Writable<PersistentVolume> | undefined>,
    async serviceAccountToken(pod, audience, expirationSeconds) {
      const request = {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid: pod.metadata!.uid },
        },
      };
      const answer = await sas.subresource<{ status: { token: string; expirationTimestamp: string } }>(
        'POST',
        pod.metadata!.namespace,
        pod.spec?.serviceAccountName ?? 'default',
        'token',
        request,
      );
      return answer.status;
    },
    allocatable,
  };
}
