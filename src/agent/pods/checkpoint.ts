// What the agent keeps on its disk to run its pods without the server: after a reboot with the
// server out of reach it starts the same pods again from here. It keeps the node's pods (spec and
// the metadata a pod's environment and volumes read; not the status, which changes all the time),
// and what they use: ConfigMaps, Secrets (sealed with the node key), claims and their volumes, the
// Services of their namespaces (for environment variables) and service account tokens (sealed).
// Each is cut down to what the agent reads, so a write happens only when that changes; what no
// kept pod uses any more is removed. Files under <data-dir>/agent/checkpoint (checkpoint-store.ts).
import path from 'node:path';
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { Writable } from '../../client/resources.js';
import { type CheckpointKind, CheckpointStore } from './checkpoint-store.js';
import type { P } from './labels.js';
import { NodeKey } from './node-key.js';

/** The kinds kept for the pods that use them, by namespace/name (volumes by name). */
type Kept = 'configmaps' | 'secrets' | 'claims' | 'volumes';

export type KeptObject = Writable<ConfigMap> | Writable<Secret> | Writable<PersistentVolumeClaim> | Writable<PersistentVolume>;

export interface KeptToken {
  token: string;
  expirationTimestamp: string;
}

const objectKey = (namespace: string | undefined, name: string) => (namespace ? `${namespace}/${name}` : name);

/** The parts of a pod that running it needs: metadata the downward API reads, the spec, when it started. */
function podEssence(pod: P): P {
  const m = pod.metadata ?? {};
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      labels: m.labels,
      annotations: m.annotations,
      ownerReferences: m.ownerReferences,
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: m.deletionTimestamp,
      deletionGracePeriodSeconds: m.deletionGracePeriodSeconds,
    },
    spec: pod.spec,
    status: pod.status?.startTime ? { startTime: pod.status.startTime } : undefined,
  };
}

/** What of each kind the agent reads (a change of anything else is no reason to write). */
function essence(kind: Kept, obj: KeptObject): unknown {
  const metadata = { name: obj.metadata?.name, namespace: obj.metadata?.namespace };
  if (kind === 'configmaps') {
    const cm = obj as Writable<ConfigMap>;
    return { metadata, data: cm.data, binaryData: cm.binaryData };
  }
  if (kind === 'secrets') {
    const s = obj as Writable<Secret>;
    return { metadata, type: s.type, data: s.data };
  }
  if (kind === 'claims') return { metadata, spec: { volumeName: (obj as Writable<PersistentVolumeClaim>).spec?.volumeName } };
  const pv = obj as Writable<PersistentVolume>;
  return { metadata, spec: { hostPath: pv.spec?.hostPath, local: pv.spec?.local } };
}

function serviceEssence(s: Writable<Service>): Writable<Service> {
  const ports = (s.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol }));
  return { metadata: { name: s.metadata?.name, namespace: s.metadata?.namespace }, spec: { clusterIP: s.spec?.clusterIP, ports } };
}

/** The ConfigMaps, Secrets and claims a pod reads, as namespace/name. */
export function podReferences(pod: P): Record<'configmaps' | 'secrets' | 'claims', Set<string>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const refs = { configmaps: new Set<string>(), secrets: new Set<string>(), claims: new Set<string>() };
  const add = (kind: keyof typeof refs, name: string | undefined) => name && refs[kind].add(objectKey(ns, name));
  for (const v of pod.spec?.volumes ?? []) {
    add('configmaps', v.configMap?.name);
    add('secrets', v.secret?.secretName);
    add('claims', v.persistentVolumeClaim?.claimName);
    for (const s of v.projected?.sources ?? []) {
      add('configmaps', s.configMap?.name);
      add('secrets', s.secret?.name);
    }
  }
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const e of c.envFrom ?? []) {
      add('configmaps', e.configMapRef?.name);
      add('secrets', e.secretRef?.name);
    }
    for (const e of c.env ?? []) {
      add('configmaps', e.valueFrom?.configMapKeyRef?.name);
      add('secrets', e.valueFrom?.secretKeyRef?.name);
    }
  }
  return refs;
}

const isFinished = (pod: P) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

export class Checkpoint {
  private readonly store: CheckpointStore;

  constructor(agentDir: string) {
    this.store = new CheckpointStore(path.join(agentDir, 'checkpoint'), NodeKey.load(path.join(agentDir, 'node-key')));
  }

  /** Files written since start. */
  get writes(): number {
    return this.store.writes;
  }

  /** Once every change kept so far is on the disk. */
  flushed(): Promise<void> {
    return this.store.flushed();
  }

  /** The pods kept, as they were last seen. */
  pods(): P[] {
    return this.store.values<P>('pods');
  }

  /** Keeps (or, once it has finished, forgets) a pod of the node as the API has it now. */
  savePod(pod: P): void {
    const uid = pod.metadata!.uid!;
    if (isFinished(pod)) this.removePod(uid);
    else if (this.store.put('pods', uid, podEssence(pod))) this.collect();
  }

  /** Forgets a pod, and what only it used. */
  removePod(uid: string): void {
    if (!this.store.get('pods', uid)) return;
    this.store.remove('pods', uid);
    for (const key of this.store.keys('tokens')) if (key.startsWith(`${uid}/`)) this.store.remove('tokens', key);
    this.collect();
  }

  /** An object a kept pod uses, as last read. */
  object<T extends KeptObject>(kind: Kept, namespace: string | undefined, name: string): T | undefined {
    return this.store.get<T>(kind, objectKey(namespace, name));
  }

  /** Keeps an object just read from the API, if a kept pod uses it; `undefined`: it is gone from the API. */
  keepObject(kind: Kept, namespace: string | undefined, name: string, obj: KeptObject | undefined): void {
    const key = objectKey(namespace, name);
    if (!obj) this.store.remove(kind, key);
    else if (this.used(kind).has(key)) this.store.put(kind, key, essence(kind, obj));
  }

  /** The Services of a namespace, as last seen (undefined: never seen). */
  services(namespace: string): Writable<Service>[] | undefined {
    return this.store.get('services', namespace);
  }

  /** Keeps the Services of the namespaces kept pods run in (and default, for the API server's variables). */
  keepServices(all: (namespace: string) => Writable<Service>[]): void {
    for (const ns of this.namespaces()) this.store.put('services', ns, all(ns).map(serviceEssence));
  }

  token(podUid: string, id: string): KeptToken | undefined {
    return this.store.get('tokens', `${podUid}/${id}`);
  }

  keepToken(podUid: string, id: string, token: KeptToken): void {
    if (this.store.get('pods', podUid)) this.store.put('tokens', `${podUid}/${id}`, token);
  }

  private namespaces(): Set<string> {
    return new Set(['default', ...this.pods().map((p) => p.metadata!.namespace!)]);
  }

  /** namespace/name of what the kept pods use, of one kind. */
  private used(kind: Kept): Set<string> {
    if (kind === 'volumes') {
      const claims = this.store.values<Writable<PersistentVolumeClaim>>('claims');
      return new Set(claims.map((c) => c.spec?.volumeName).filter((v): v is string => !!v));
    }
    return new Set(this.pods().flatMap((p) => [...podReferences(p)[kind]]));
  }

  /** Removes what no kept pod uses any more. */
  private collect(): void {
    for (const kind of ['configmaps', 'secrets', 'claims', 'volumes'] as const) {
      const used = this.used(kind);
      for (const key of this.store.keys(kind)) if (!used.has(key)) this.store.remove(kind, key);
    }
    const namespaces = this.namespaces();
    for (const ns of this.store.keys('services')) if (!namespaces.has(ns)) this.store.remove('services', ns);
  }
}

export type { CheckpointKind };
