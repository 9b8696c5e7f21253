// What each node may read, as the node authorizer's graph (upstream's plugin/pkg/auth/authorizer/node):
// a pod bound to a node links the node to the Secrets, ConfigMaps, PersistentVolumeClaims and
// ServiceAccount the pod references; a PersistentVolume is linked through the claim it is bound to
// (its claimRef), and the Secrets a PersistentVolume names through that volume. Fed with pods and
// persistent volumes as they change (node-graph-feed.ts); answers "is there a path from this object
// to this node?".
import type { KObject } from '../../k8s/object.js';
import { podReferences, volumeSecrets, type PodLike, type PodReferences, type PvLike } from '../../k8s/pod-references.js';

export { podReferences, volumeSecrets };

export type VertexType = 'pod' | 'secret' | 'configmap' | 'pvc' | 'pv' | 'serviceaccount';

interface PodEntry {
  node: string;
  namespace: string;
  refs: PodReferences;
}

/** The node authorizer's graph. Keys are `namespace/name` (`name` for persistent volumes). */
export class NodeGraph {
  private readonly pods = new Map<string, PodEntry>();
  /** `node|type|namespace/name` -> how many pods on that node reference the object. */
  private readonly edges = new Map<string, number>();
  /** PV name -> the claim it is bound to (namespace/name) and the Secrets it names. */
  private readonly volumes = new Map<string, { claim?: string; secrets: string[] }>();
  /** Secret (namespace/name) -> the PVs naming it. */
  private readonly secretVolumes = new Map<string, Set<string>>();

  private count(node: string, type: VertexType, key: string, delta: number): void {
    const edge = `${node}|${type}|${key}`;
    const n = (this.edges.get(edge) ?? 0) + delta;
    if (n > 0) this.edges.set(edge, n);
    else this.edges.delete(edge);
  }

  private link(entry: PodEntry, podKey: string, delta: number): void {
    const { node, namespace: ns, refs } = entry;
    this.count(node, 'pod', podKey, delta);
    for (const s of refs.secrets) this.count(node, 'secret', `${ns}/${s}`, delta);
    for (const c of refs.configMaps) this.count(node, 'configmap', `${ns}/${c}`, delta);
    for (const c of refs.claims) this.count(node, 'pvc', `${ns}/${c}`, delta);
    if (refs.serviceAccount) this.count(node, 'serviceaccount', `${ns}/${refs.serviceAccount}`, delta);
  }

  /** A pod as it is now: bound to a node, its references count for that node; unbound, it counts for none. */
  setPod(obj: KObject): void {
    const pod = obj as PodLike;
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    this.deletePod(key);
    const node = pod.spec?.nodeName;
    if (!node) return;
    const entry = { node, namespace: pod.metadata?.namespace ?? '', refs: podReferences(obj) };
    this.pods.set(key, entry);
    this.link(entry, key, 1);
  }

  deletePod(key: string): void {
    const entry = this.pods.get(key);
    if (!entry) return;
    this.pods.delete(key);
    this.link(entry, key, -1);
  }

  setVolume(obj: KObject): void {
    const pv = obj as PvLike;
    const name = pv.metadata?.name ?? '';
    this.deleteVolume(name);
    const ref = pv.spec?.claimRef;
    const entry = { claim: ref?.name ? `${ref.namespace}/${ref.name}` : undefined, secrets: volumeSecrets(obj) };
    this.volumes.set(name, entry);
    for (const s of entry.secrets) {
      let set = this.secretVolumes.get(s);
      if (!set) this.secretVolumes.set(s, (set = new Set()));
      set.add(name);
    }
  }

  deleteVolume(name: string): void {
    const entry = this.volumes.get(name);
    if (!entry) return;
    this.volumes.delete(name);
    for (const s of entry.secrets) {
      const set = this.secretVolumes.get(s);
      set?.delete(name);
      if (set?.size === 0) this.secretVolumes.delete(s);
    }
  }

  /** Forgets every pod (before a fresh list replaces them). */
  clearPods(): void {
    this.pods.clear();
    for (const edge of [...this.edges.keys()]) this.edges.delete(edge);
  }

  clearVolumes(): void {
    this.volumes.clear();
    this.secretVolumes.clear();
  }

  /** The pod's node, if the graph knows the pod as bound. */
  nodeOf(namespace: string, name: string): string | undefined {
    return this.pods.get(`${namespace}/${name}`)?.node;
  }

  /** Is there a path from the object (`namespace` empty for persistent volumes) to the node? */
  hasPath(node: string, type: VertexType, namespace: string, name: string): boolean {
    const key = type === 'pv' ? name : `${namespace}/${name}`;
    if (type === 'pv') {
      const claim = this.volumes.get(key)?.claim;
      return claim !== undefined && this.edges.has(`${node}|pvc|${claim}`);
    }
    if (this.edges.has(`${node}|${type}|${key}`)) return true;
    if (type !== 'secret') return false;
    // node <- pod <- pvc <- pv <- secret
    for (const pv of this.secretVolumes.get(key) ?? []) if (this.hasPath(node, 'pv', '', pv)) return true;
    return false;
  }

  /** How many pods the graph holds (for tests and logs). */
  get size(): number {
    return this.pods.size;
  }
}
