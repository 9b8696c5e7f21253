// What the agent reads from the API to start a pod: ConfigMaps, Secrets, Services (for their
// environment variables), PersistentVolumes, service account tokens, and the node's allocatable
// resources (the default for resource fields of containers without limits). Services come from an
// informer (its cache, not two lists per container start). Everything read is kept in the node's
// checkpoint (checkpoint.ts), and when the API cannot be reached the pods are served from there:
// from the informer's last state and the last objects read while the agent runs, from the disk
// after a restart. The API's own answers (not found, forbidden) are never overridden by the checkpoint.
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret, Service } from 'kubernetes-types/core/v1.js';
import { ApiError, isNotFound } from '../../k8s/errors.js';
import { Informer } from '../../client/informer.js';
import type { ApiClient } from '../../client/rest-client.js';
import { configMaps, dynamic, persistentVolumeClaims, secrets, serviceAccounts, services, type Writable } from '../../client/resources.js';
import { log } from '../../log.js';
import type { Checkpoint, KeptObject } from './checkpoint.js';
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

const persistentVolumes = dynamic('', 'v1', 'persistentvolumes', 'PersistentVolume', false);

/** After the API could not be reached, what the checkpoint has is served without asking it for this long. */
const OFFLINE_MS = 10_000;
/** Service changes are kept in the checkpoint at most this often. */
const KEEP_SERVICES_MS = 1000;

/** No answer from the API (as opposed to its answer, such as not found or forbidden). */
const unreachable = (err: unknown) => !(err instanceof ApiError) || err.code >= 500 || err.code === 429;

export class ApiSources implements PodSources {
  private readonly serviceInformer: Informer<Writable<Service>>;
  private servicesSynced = false;
  private stopped = false;
  private offlineUntil = 0;
  private keepTimer?: NodeJS.Timeout;

  constructor(
    private readonly api: ApiClient,
    private readonly checkpoint: Checkpoint,
    readonly allocatable: () => Record<string, string>,
  ) {
    this.serviceInformer = new Informer(api.resource(services));
  }

  start(): void {
    const changed = () => this.keepServicesSoon();
    this.serviceInformer.on({ add: changed, update: changed, delete: changed }).start();
    void this.serviceInformer.synced().then(() => {
      // synced() resolves at a stop too, when the informer may never have listed.
      if (this.stopped) return;
      this.servicesSynced = true;
      this.keepServicesSoon();
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.keepTimer);
    this.serviceInformer.stop();
  }

  configMap(namespace: string, name: string): Promise<Writable<ConfigMap> | undefined> {
    return this.read('configmaps', namespace, name, () => this.api.resource(configMaps).get(namespace, name));
  }

  secret(namespace: string, name: string): Promise<Writable<Secret> | undefined> {
    return this.read('secrets', namespace, name, () => this.api.resource(secrets).get(namespace, name));
  }

  claim(namespace: string, name: string): Promise<Writable<PersistentVolumeClaim> | undefined> {
    return this.read('claims', namespace, name, () => this.api.resource(persistentVolumeClaims).get(namespace, name));
  }

  volume(name: string): Promise<Writable<PersistentVolume> | undefined> {
    const get = () => this.api.resource(persistentVolumes).get(undefined, name) as Promise<Writable<PersistentVolume>>;
    return this.read('volumes', undefined, name, get);
  }

  /** The informer's Services once it has listed (its last state while the API is away), else the checkpoint's. */
  async services(namespace: string): Promise<Writable<Service>[]> {
    if (this.servicesSynced) {
      // A pod of a namespace new to the checkpoint needs that namespace's Services kept too.
      this.keepServicesSoon();
      return this.serviceInformer.list(namespace);
    }
    const kept = this.checkpoint.services(namespace);
    if (kept) return kept;
    // As the kubelet: no environment from Services that were never read.
    throw new ConfigError('services have not yet been read at least once, cannot construct envvars');
  }

  async serviceAccountToken(pod: P, audience: string | undefined, expirationSeconds: number) {
    const uid = pod.metadata!.uid!;
    const id = `${audience ?? ''}/${expirationSeconds}`;
    const kept = this.checkpoint.token(uid, id);
    if (kept && this.offline()) return kept;
    const request = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        audiences: audience ? [audience] : [],
        expirationSeconds,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid },
      },
    };
    try {
      const answer = await this.api.resource(serviceAccounts).subresource<{
        status: { token: string; expirationTimestamp: string };
      }>('POST', pod.metadata!.namespace, pod.spec?.serviceAccountName ?? 'default', 'token', request);
      this.checkpoint.keepToken(uid, id, answer.status);
      return answer.status;
    } catch (err) {
      if (!kept || !unreachable(err)) throw err;
      this.wentOffline(err);
      return kept;
    }
  }

  /** The object from the API, kept in the checkpoint; the checkpoint's when the API cannot be reached. */
  private async read<T extends KeptObject>(
    kind: 'configmaps' | 'secrets' | 'claims' | 'volumes',
    namespace: string | undefined,
    name: string,
    get: () => Promise<T>,
  ): Promise<T | undefined> {
    const kept = this.checkpoint.object<T>(kind, namespace, name);
    if (kept && this.offline()) return kept;
    try {
      const obj = await get();
      this.checkpoint.keepObject(kind, namespace, name, obj);
      return obj;
    } catch (err) {
      if (isNotFound(err)) {
        this.checkpoint.keepObject(kind, namespace, name, undefined);
        return undefined;
      }
      if (!kept || !unreachable(err)) throw err;
      this.wentOffline(err);
      return kept;
    }
  }

  private offline(): boolean {
    return Date.now() < this.offlineUntil;
  }

  private wentOffline(err: unknown): void {
    if (!this.offline()) log.warn({ err: (err as Error).message }, 'API unreachable: pods are served from the checkpoint');
    this.offlineUntil = Date.now() + OFFLINE_MS;
  }

  private keepServicesSoon(): void {
    if (!this.servicesSynced || this.stopped || this.keepTimer) return;
    this.keepTimer = setTimeout(() => {
      this.keepTimer = undefined;
      this.checkpoint.keepServices((ns) => this.serviceInformer.list(ns));
    }, KEEP_SERVICES_MS);
    this.keepTimer.unref();
  }
}
