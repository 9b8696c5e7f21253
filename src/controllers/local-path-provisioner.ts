// The local-path provisioner (K3s's local-path-provisioner, without its helper pods): for a claim of
// a skiff.io/local-path class once the scheduler has chosen its node (volume.kubernetes.io/selected-node),
// a hostPath PersistentVolume in <node's storage path>/pvc-<uid>_<namespace>_<name>, pinned to that
// node by node affinity and pre-bound to the claim (the binder finishes the binding); a claim whose
// request grows, when its class allows expansion, gets the volume's and its own capacity raised (a
// directory has no filesystem to resize); a Released volume with reclaim Delete is removed: its
// directory by the node (asked through an annotation on its Node, see src/agent/storage), then the object.
// It runs here, not in the agents, because a node may not create volumes or read other claims.
import path from 'node:path';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { EventRecorder } from '../client/event-recorder.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { nodes, persistentVolumeClaims, pods, type Writable, withType } from '../client/resources.js';
import { ignoreNotFoundOrReplaced, isAlreadyExists } from '../k8s/errors.js';
import { ANN_STORAGE_PATH, LOCAL_PATH_PROVISIONER, REMOVE_PREFIX, volumeDirName } from '../k8s/local-path.js';
import {
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  persistentVolumes,
  storageClasses,
} from './persistentvolume-binder.js';
import { claimClass, requestedStorage, volumeStorage } from '../k8s/volume-match.js';
import { type ControllerContext, QueueController } from './runner.js';

type PV = Writable<PersistentVolume>;
type PVC = Writable<PersistentVolumeClaim>;

export const LOCAL_PATH_CONTROLLER = 'local-path-provisioner';
const HOSTNAME_LABEL = 'kubernetes.io/hostname';
const CLAIM = 'claim:';
const VOLUME = 'volume:';
/** The access modes one node's directory can honour. */
const SUPPORTED_MODES = new Set(['ReadWriteOnce', 'ReadWriteOncePod']);

/** The volume for a claim on a node whose local-path folder is `dir` (a pure function, unit-tested). */
export function localPathVolume(claim: PVC, sc: Writable<StorageClass>, node: Writable<Node>, dir: string): PV {
  const { uid, namespace, name } = claim.metadata as { uid: string; namespace: string; name: string };
  const hostname = node.metadata?.labels?.[HOSTNAME_LABEL] ?? node.metadata!.name!;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `pvc-${uid}`, annotations: { [ANN_DYNAMICALLY_PROVISIONED]: LOCAL_PATH_PROVISIONER } },
    spec: {
      capacity: { storage: String(claim.spec?.resources?.requests?.storage ?? '0') },
      accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
      hostPath: { path: path.join(dir, volumeDirName(uid, namespace, name)), type: 'DirectoryOrCreate' },
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [hostname] }] }] },
      },
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid, resourceVersion: claim.metadata?.resourceVersion },
      storageClassName: sc.metadata!.name,
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
      volumeMode: 'Filesystem',
    },
  };
}

/** Why a claim cannot have a local-path volume, or undefined. */
export function unsupported(claim: PVC): string | undefined {
  if ((claim.spec?.volumeMode ?? 'Filesystem') !== 'Filesystem')
    return 'local-path volumes are directories: volumeMode Block is not supported';
  const modes = claim.spec?.accessModes ?? [];
  const bad = modes.filter((m) => !SUPPORTED_MODES.has(m));
  if (bad.length) return `local-path volumes live on one node: access mode ${bad.join(', ')} is not supported`;
  return undefined;
}

const storagePath = (node: Writable<Node>) => node.metadata?.annotations?.[ANN_STORAGE_PATH];

/** The node a local-path volume lives on, from its node affinity. */
const volumeNode = (pv: PV): string | undefined =>
  pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values?.[0];

export class LocalPathProvisioner extends QueueController {
  readonly name = LOCAL_PATH_CONTROLLER;
  protected override workers = 1;
  private readonly claims: Informer<PVC>;
  private readonly volumes: Informer<PV>;
  private readonly classes: Informer<Writable<StorageClass>>;
  private readonly nodes: Informer<Writable<Node>>;
  private readonly pods: Informer<Writable<Pod>>;
  private readonly claimClient: ResourceClient<PVC>;
  private readonly volumeClient: ResourceClient<PV>;
  private readonly nodeClient: ResourceClient<Writable<Node>>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    super();
    const api = ctx.client(LOCAL_PATH_CONTROLLER);
    this.claimClient = api.resource(persistentVolumeClaims);
    this.volumeClient = api.resource(persistentVolumes);
    this.nodeClient = api.resource(nodes);
    this.recorder = ctx.recorder(LOCAL_PATH_PROVISIONER);
    const claimChanged = (c: PVC) => this.queue.add(CLAIM + keyOf(c));
    this.claims = ctx.informers.for(persistentVolumeClaims).on({ add: claimChanged, update: (_, c) => claimChanged(c) });
    const volumeChanged = (v: PV) => this.queue.add(VOLUME + v.metadata!.name);
    this.volumes = ctx.informers.for(persistentVolumes).on({ add: volumeChanged, update: (_, v) => volumeChanged(v) });
    const everything = () => {
      for (const c of this.claims.list()) claimChanged(c);
      for (const v of this.volumes.list()) volumeChanged(v);
    };
    this.classes = ctx.informers.for(storageClasses).on({ add: everything, update: everything });
    // A node that says where its storage is may unblock claims waiting for it.
    this.nodes = ctx.informers.for(nodes).on({ add: everything, update: (a, b) => storagePath(a) !== storagePath(b) && everything() });
    // A pod that stops using a claim may let its released volume go.
    this.pods = ctx.informers.for(pods).on({ delete: () => this.volumes.list().forEach(volumeChanged) });
  }

  protected async reconcile(key: string): Promise<void> {
    if (key.startsWith(CLAIM)) {
      const claim = this.claims.get(key.slice(CLAIM.length));
      if (claim) await this.syncClaim(claim);
    } else {
      const volume = this.volumes.get(key.slice(VOLUME.length));
      if (volume && volume.metadata?.annotations?.[ANN_DYNAMICALLY_PROVISIONED] === LOCAL_PATH_PROVISIONER) await this.syncVolume(volume);
    }
  }

  private ourClass(claim: PVC): Writable<StorageClass> | undefined {
    const sc = this.classes.get(claimClass(claim));
    return sc?.provisioner === LOCAL_PATH_PROVISIONER ? sc : undefined;
  }

  private event(claim: PVC, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event(withType(persistentVolumeClaims, claim), type, reason, message);
  }

  private async syncClaim(claim: PVC): Promise<void> {
    const sc = this.ourClass(claim);
    if (!sc || claim.metadata?.deletionTimestamp) return;
    const volumeName = claim.spec?.volumeName;
    if (volumeName) {
      const volume = this.volumes.get(volumeName);
      if (volume?.metadata?.annotations?.[ANN_DYNAMICALLY_PROVISIONED] === LOCAL_PATH_PROVISIONER) await this.expand(claim, volume, sc);
      return;
    }
    // The binder hands the claim over (the annotation); WaitForFirstConsumer classes wait for the scheduler's node.
    if (claim.metadata?.annotations?.[ANN_STORAGE_PROVISIONER] !== LOCAL_PATH_PROVISIONER) return;
    const nodeName = claim.metadata?.annotations?.[ANN_SELECTED_NODE];
    if (!nodeName) {
      if (sc.volumeBindingMode !== 'WaitForFirstConsumer') {
        this.event(claim, 'Warning', 'ProvisioningFailed', 'local-path volumes need a node: use volumeBindingMode WaitForFirstConsumer');
      }
      return;
    }
    if (this.volumes.get(`pvc-${claim.metadata!.uid}`)) return;
    const why = unsupported(claim);
    if (why) return this.event(claim, 'Warning', 'ProvisioningFailed', why);
    const node = this.nodes.get(nodeName);
    const dir = node && storagePath(node);
    if (!node || !dir) {
      const message = `node "${nodeName}" has no local-path storage (not found, not registered yet, or local-storage disabled)`;
      return this.event(claim, 'Warning', 'ProvisioningFailed', message);
    }
    this.event(claim, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${keyOf(claim)}"`);
    try {
      await this.volumeClient.create(localPathVolume(claim, sc, node, dir));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    this.event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume pvc-${claim.metadata!.uid}`);
  }

  /** A claim asking for more than its volume has: a directory grows by saying so. */
  private async expand(claim: PVC, volume: PV, sc: Writable<StorageClass>): Promise<void> {
    const wanted = claim.spec?.resources?.requests?.storage;
    if (wanted === undefined || requestedStorage(claim) <= volumeStorage(volume)) return;
    if (!sc.allowVolumeExpansion) return;
    const grown = structuredClone(volume);
    grown.spec!.capacity = { ...grown.spec!.capacity, storage: String(wanted) };
    await this.volumeClient.update(grown);
    const next = structuredClone(claim);
    next.status = { ...next.status, capacity: { ...next.status?.capacity, storage: String(wanted) } };
    await this.claimClient.updateStatus(next);
    this.event(
      claim,
      'Normal',
      'VolumeResizeSuccessful',
      `resize volume "${volume.metadata!.name}" by resizer "${LOCAL_PATH_PROVISIONER}" succeeded`,
    );
  }

  /** Released with reclaim Delete, and no pod left using the claim: the node removes the directory, then the object goes. */
  private async syncVolume(volume: PV): Promise<void> {
    if (volume.status?.phase !== 'Released' || volume.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    const ref = volume.spec.claimRef;
    const inUse = this.pods
      .list(ref?.namespace)
      .some(
        (p) =>
          p.status?.phase !== 'Succeeded' &&
          p.status?.phase !== 'Failed' &&
          (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === ref?.name),
      );
    if (inUse) return;
    const nodeName = volumeNode(volume);
    const dir = volume.spec.hostPath?.path;
    if (nodeName && dir && this.nodes.get(nodeName)) {
      const removal = { [REMOVE_PREFIX + volume.metadata!.name]: path.basename(dir) };
      await this.nodeClient.patch(undefined, nodeName, { metadata: { annotations: removal } }).catch(ignoreNotFoundOrReplaced);
    }
    await this.volumeClient
      .delete(undefined, volume.metadata!.name!, { preconditions: { uid: volume.metadata!.uid } })
      .catch(ignoreNotFoundOrReplaced);
  }
}
