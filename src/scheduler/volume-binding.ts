// Volumes in scheduling, upstream's VolumeBinding plugin simplified: a pod's bound claims hold it to
// the nodes their volumes' node affinity allows; an unbound claim of an Immediate class keeps it
// waiting until the claim is bound; an unbound claim of a WaitForFirstConsumer class is satisfied on a
// node by an Available volume that fits there, or else by the class's provisioner. Once a node is
// chosen, before the pod is bound, such a claim gets that volume (its claimRef) or the node in its
// volume.kubernetes.io/selected-node annotation, for the provisioner.
import type { Node, PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { Informer } from '../client/informer.js';
import type { ApiClient, ResourceClient } from '../client/rest-client.js';
import { persistentVolumeClaims, persistentVolumes, storageClasses, type Writable } from '../client/resources.js';
import type { SharedInformers } from '../client/shared-informers.js';
import { termMatches } from '../k8s/scheduling.js';
import { claimClass, findMatchingVolume } from '../k8s/volume-match.js';
import type { PodT } from './snapshot.js';

type PV = Writable<PersistentVolume>;
type PVC = Writable<PersistentVolumeClaim>;
type SC = Writable<StorageClass>;

export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

/** Upstream's reasons. */
export const UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';
export const NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const NO_VOLUME = "node(s) didn't find available persistent volumes to bind";

/** What the plugin sees: the objects, by name. */
export interface VolumeView {
  claim(namespace: string, name: string): PVC | undefined;
  volume(name: string): PV | undefined;
  volumes(): PV[];
  storageClass(name: string): SC | undefined;
}

/** Whether a volume may be used on a node (no node affinity: anywhere). */
export function volumeFitsNode(volume: PV, node: Writable<Node>): boolean {
  const terms = volume.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  return !terms?.length || terms.some((term) => termMatches(term, node));
}

const claimNames = (pod: PodT): string[] =>
  (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));

export const usesClaims = (pod: PodT): boolean => claimNames(pod).length > 0;

/** What an unbound claim of a WaitForFirstConsumer class gets on a node: a volume there, a provisioner, or nothing. */
function plan(view: VolumeView, claim: PVC, node: Writable<Node>): { volume?: PV; provision?: boolean } {
  const volume = findMatchingVolume(
    claim,
    view.volumes().filter((v) => volumeFitsNode(v, node)),
  );
  if (volume) return { volume };
  const sc = view.storageClass(claimClass(claim));
  return { provision: !!sc && sc.provisioner !== NO_PROVISIONER };
}

const waitsForConsumer = (view: VolumeView, claim: PVC) =>
  view.storageClass(claimClass(claim))?.volumeBindingMode === 'WaitForFirstConsumer';

/**
 * Why the pod cannot go to the node for its volumes, or undefined. A missing claim, or one being
 * deleted, fails every node, in upstream's words.
 */
export function filterVolumes(view: VolumeView, pod: PodT, node: Writable<Node>): string[] | undefined {
  const namespace = pod.metadata!.namespace!;
  for (const name of claimNames(pod)) {
    const claim = view.claim(namespace, name);
    if (!claim) return [`persistentvolumeclaim "${name}" not found`];
    if (claim.metadata?.deletionTimestamp) return [`persistentvolumeclaim "${name}" is being deleted`];
    const volumeName = claim.spec?.volumeName;
    if (volumeName) {
      const volume = view.volume(volumeName);
      if (!volume) return [`persistentvolume "${volumeName}" not found`];
      if (!volumeFitsNode(volume, node)) return [NODE_CONFLICT];
      continue;
    }
    if (!waitsForConsumer(view, claim)) return [UNBOUND_IMMEDIATE];
    // A node already chosen for the claim (a provisioner may be at work there) is the only one.
    const selected = claim.metadata?.annotations?.[ANN_SELECTED_NODE];
    if (selected && selected !== node.metadata?.name) return [NODE_CONFLICT];
    const { volume, provision } = plan(view, claim, node);
    if (!volume && !provision) return [NO_VOLUME];
  }
  return undefined;
}

/** The plugin fed by the scheduler's informers, writing as the scheduler. */
export class VolumeBinding implements VolumeView {
  private readonly claims: Informer<PVC>;
  private readonly pvs: Informer<PV>;
  private readonly classes: Informer<SC>;
  private readonly claimClient: ResourceClient<PVC>;
  private readonly volumeClient: ResourceClient<PV>;

  constructor(informers: SharedInformers, api: ApiClient, changed: () => void) {
    this.claims = informers.for(persistentVolumeClaims).on({ add: changed, update: changed });
    this.pvs = informers.for(persistentVolumes).on({ add: changed, update: changed });
    this.classes = informers.for(storageClasses).on({ add: changed, update: changed });
    this.claimClient = api.resource(persistentVolumeClaims);
    this.volumeClient = api.resource(persistentVolumes);
  }

  claim(namespace: string, name: string) {
    return this.claims.get(`${namespace}/${name}`);
  }
  volume(name: string) {
    return this.pvs.get(name);
  }
  volumes() {
    return this.pvs.list();
  }
  storageClass(name: string) {
    return this.classes.get(name);
  }

  filter(pod: PodT, node: Writable<Node>): string[] | undefined {
    return filterVolumes(this, pod, node);
  }

  /** The pod goes to `node`: its waiting claims get a volume there, or the node for their provisioner. */
  async bindClaims(pod: PodT, node: Writable<Node>): Promise<void> {
    const nodeName = node.metadata!.name!;
    for (const name of claimNames(pod)) {
      const claim = this.claim(pod.metadata!.namespace!, name);
      if (!claim || claim.spec?.volumeName || !waitsForConsumer(this, claim)) continue;
      if (claim.metadata?.annotations?.[ANN_SELECTED_NODE] === nodeName) continue;
      const { volume } = plan(this, claim, node);
      if (volume) {
        const meta = claim.metadata!;
        const next = structuredClone(volume);
        next.spec!.claimRef = {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: meta.namespace,
          name: meta.name,
          uid: meta.uid,
        };
        next.metadata!.annotations = { ...next.metadata!.annotations, 'pv.kubernetes.io/bound-by-controller': 'yes' };
        await this.volumeClient.update(next);
      } else {
        await this.claimClient.patch(claim.metadata!.namespace, name, { metadata: { annotations: { [ANN_SELECTED_NODE]: nodeName } } });
      }
    }
  }
}
