// The objects a pod names (Secrets, ConfigMaps, claims, its service account) and the Secrets a
// persistent volume names, as upstream's VisitPodSecretNames, VisitPodConfigmapNames and
// VisitPVSecretNames find them: what the Node authorizer links to a node, and what a node's mirror
// pods may not reference.
import type { KObject } from './object.js';

export interface PodReferences {
  secrets: string[];
  configMaps: string[];
  claims: string[];
  serviceAccount?: string;
}

interface Named {
  name?: string;
}
interface Container {
  envFrom?: { secretRef?: Named; configMapRef?: Named }[];
  env?: { valueFrom?: { secretKeyRef?: Named; configMapKeyRef?: Named } }[];
}
interface Volume {
  name?: string;
  secret?: { secretName?: string };
  configMap?: Named;
  persistentVolumeClaim?: { claimName?: string };
  ephemeral?: unknown;
  projected?: { sources?: { secret?: Named; configMap?: Named }[] };
  azureFile?: { secretName?: string };
  cephfs?: { secretRef?: Named };
  cinder?: { secretRef?: Named };
  flexVolume?: { secretRef?: Named };
  iscsi?: { secretRef?: Named };
  rbd?: { secretRef?: Named };
  scaleIO?: { secretRef?: Named };
  storageos?: { secretRef?: Named };
  csi?: { nodePublishSecretRef?: Named };
}
export interface PodLike {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    nodeName?: string;
    serviceAccountName?: string;
    imagePullSecrets?: Named[];
    containers?: Container[];
    initContainers?: Container[];
    ephemeralContainers?: Container[];
    volumes?: Volume[];
  };
}

const names = (items: (string | undefined)[]) => [...new Set(items.filter((n): n is string => !!n))].sort();

/** The objects a pod references by name, as upstream's VisitPodSecretNames and VisitPodConfigmapNames find them. */
export function podReferences(obj: KObject): PodReferences {
  const pod = obj as PodLike;
  const spec = pod.spec ?? {};
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  const volumes = spec.volumes ?? [];
  const secrets: (string | undefined)[] = (spec.imagePullSecrets ?? []).map((s) => s.name);
  const configMaps: (string | undefined)[] = [];
  for (const c of containers) {
    for (const from of c.envFrom ?? []) {
      secrets.push(from.secretRef?.name);
      configMaps.push(from.configMapRef?.name);
    }
    for (const e of c.env ?? []) {
      secrets.push(e.valueFrom?.secretKeyRef?.name);
      configMaps.push(e.valueFrom?.configMapKeyRef?.name);
    }
  }
  for (const v of volumes) {
    secrets.push(v.secret?.secretName, v.azureFile?.secretName, v.csi?.nodePublishSecretRef?.name);
    for (const ref of [v.cephfs, v.cinder, v.flexVolume, v.iscsi, v.rbd, v.scaleIO, v.storageos]) secrets.push(ref?.secretRef?.name);
    configMaps.push(v.configMap?.name);
    for (const src of v.projected?.sources ?? []) {
      secrets.push(src.secret?.name);
      configMaps.push(src.configMap?.name);
    }
  }
  const claims = volumes.map((v) =>
    v.persistentVolumeClaim ? v.persistentVolumeClaim.claimName : v.ephemeral ? `${pod.metadata?.name}-${v.name}` : undefined,
  );
  return {
    secrets: names(secrets),
    configMaps: names(configMaps),
    claims: names(claims),
    serviceAccount: spec.serviceAccountName || undefined,
  };
}

export interface PvLike {
  metadata?: { name?: string };
  spec?: {
    claimRef?: { namespace?: string; name?: string };
    csi?: Record<string, { name?: string; namespace?: string } | undefined>;
    [source: string]: unknown;
  };
}

/** The Secrets (namespace/name) a PersistentVolume's source names, as upstream's VisitPVSecretNames. */
export function volumeSecrets(obj: KObject): string[] {
  const spec = (obj as PvLike).spec ?? {};
  const out: string[] = [];
  const ref = (r: unknown, defaultNamespace = 'default') => {
    const s = r as { name?: string; namespace?: string } | undefined;
    if (s?.name) out.push(`${s.namespace || defaultNamespace}/${s.name}`);
  };
  for (const source of ['cephfs', 'cinder', 'flexVolume', 'iscsi', 'rbd', 'scaleIO', 'storageos']) {
    ref((spec[source] as { secretRef?: unknown } | undefined)?.secretRef);
  }
  const azure = spec.azureFile as { secretName?: string; secretNamespace?: string } | undefined;
  if (azure?.secretName) out.push(`${azure.secretNamespace || spec.claimRef?.namespace || 'default'}/${azure.secretName}`);
  for (const key of [
    'nodePublishSecretRef',
    'nodeStageSecretRef',
    'nodeExpandSecretRef',
    'controllerPublishSecretRef',
    'controllerExpandSecretRef',
  ]) {
    ref(spec.csi?.[key]);
  }
  return [...new Set(out)].sort();
}
