// The PersistentVolume controller (kube-controller-manager's persistentvolume-binder): binds claims
// to volumes — the volume a claim names, else the smallest Available one that fits — by setting the
// volume's claimRef, then the claim's volumeName and both phases Bound; keeps volume phases
// (Available, Bound, Released) and reclaims the volumes of deleted claims (Retain keeps them, Delete
// deletes the object, Recycle fails as it does upstream without a recycler). Claims of a class with
// a provisioner are handed to it (the provisioner annotations an external provisioner waits for).
// Upstream's order and words: pkg/controller/volume/persistentvolume/pv_controller.go.
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { EventRecorder, EventType } from '../client/event-recorder.js';
import { keyOf, type Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import { persistentVolumeClaims, persistentVolumes, pods, storageClasses, type Writable } from '../client/resources.js';
import { ignoreNotFoundOrReplaced, isNotFound } from '../k8s/errors.js';
import { nowTimestamp } from '../k8s/time.js';
import { type ControllerContext, QueueController } from './runner.js';
import { claimClass, findMatchingVolume, isBoundToClaim, unsatisfiedBy, volumeModeMismatch } from '../k8s/volume-match.js';

type PV = Writable<PersistentVolume>;
type PVC = Writable<PersistentVolumeClaim>;
type Pod = Writable<import('kubernetes-types/core/v1.js').Pod>;

export { persistentVolumes, storageClasses };

/** The identity it writes as, and the component its events come from (upstream's). */
export const PV_BINDER = 'persistent-volume-binder';
const COMPONENT = 'persistentvolume-controller';

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
/** Set by a provisioner on the volumes it made: deleting them is its business. */
export const ANN_DYNAMICALLY_PROVISIONED = 'pv.kubernetes.io/provisioned-by';

/** Upstream's --pvclaimbinder-sync-period: everything is looked at again this often. */
const RESYNC_MS = 15_000;

const CLAIM = 'claim:';
const VOLUME = 'volume:';

const clone = <T>(o: T): T => structuredClone(o);
const ref = (kind: string, o: { metadata?: PV['metadata'] }) => ({ apiVersion: 'v1', kind, metadata: o.metadata });

export class PersistentVolumeBinder extends QueueController {
  readonly name = PV_BINDER;
  protected override workers = 1;
  private readonly claims: Informer<PVC>;
  private readonly volumes: Informer<PV>;
  private readonly classes: Informer<Writable<StorageClass>>;
  private readonly pods: Informer<Pod>;
  private readonly claimClient: ResourceClient<PVC>;
  private readonly volumeClient: ResourceClient<PV>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    super();
    const api = ctx.client(PV_BINDER);
    this.claimClient = api.resource(persistentVolumeClaims);
    this.volumeClient = api.resource(persistentVolumes);
    this.recorder = ctx.recorder(COMPONENT);
    this.pods = ctx.informers.for(pods);
    this.claims = ctx.informers.for(persistentVolumeClaims).on({
      add: (c) => this.queue.add(CLAIM + keyOf(c)),
      update: (_, c) => this.queue.add(CLAIM + keyOf(c)),
      // The volumes it held are released.
      delete: (c) => {
        for (const v of this.volumes.list()) if (refersTo(v, c)) this.queue.add(VOLUME + v.metadata!.name);
      },
    });
    const volumeChanged = (v: PV) => {
      this.queue.add(VOLUME + v.metadata!.name);
      const claimRef = v.spec?.claimRef;
      if (claimRef?.name) this.queue.add(`${CLAIM}${claimRef.namespace}/${claimRef.name}`);
      // A volume that may be free: the claims still waiting look again.
      if (!claimRef?.uid) for (const c of this.claims.list()) if (waiting(c)) this.queue.add(CLAIM + keyOf(c));
    };
    this.volumes = ctx.informers
      .for(persistentVolumes)
      .on({ add: volumeChanged, update: (_, v) => volumeChanged(v), delete: volumeChanged });
    this.classes = ctx.informers.for(storageClasses).on({
      add: (sc) => this.claimsOfClass(sc.metadata!.name!),
      update: (_, sc) => this.claimsOfClass(sc.metadata!.name!),
    });
  }

  override async run(signal: AbortSignal): Promise<void> {
    const resync = setInterval(() => {
      for (const c of this.claims.list()) this.queue.add(CLAIM + keyOf(c));
      for (const v of this.volumes.list()) this.queue.add(VOLUME + v.metadata!.name);
    }, RESYNC_MS);
    try {
      await super.run(signal);
    } finally {
      clearInterval(resync);
    }
  }

  private claimsOfClass(name: string): void {
    for (const c of this.claims.list()) if (waiting(c) && claimClass(c) === name) this.queue.add(CLAIM + keyOf(c));
  }

  protected async reconcile(key: string): Promise<void> {
    if (key.startsWith(CLAIM)) {
      const claim = this.claims.get(key.slice(CLAIM.length));
      if (!claim) return;
      if (claim.metadata?.annotations?.[ANN_BIND_COMPLETED] !== undefined) await this.syncBoundClaim(claim);
      else await this.syncUnboundClaim(claim);
    } else if (key.startsWith(VOLUME)) {
      const volume = this.volumes.get(key.slice(VOLUME.length));
      if (volume) await this.syncVolume(volume);
    }
  }

  private event(kind: 'PersistentVolumeClaim' | 'PersistentVolume', o: PVC | PV, type: EventType, reason: string, message: string) {
    this.recorder.event(ref(kind, o), type, reason, message);
  }

  // ---- claims ----

  private async syncUnboundClaim(claim: PVC): Promise<void> {
    const volumeName = claim.spec?.volumeName;
    if (!volumeName) {
      const delay = this.delayBinding(claim);
      const volume = findMatchingVolume(claim, this.volumes.list(), delay);
      if (volume) return this.bind(volume, claim);
      if (delay && claim.metadata?.annotations?.[ANN_SELECTED_NODE] === undefined) {
        this.event(
          'PersistentVolumeClaim',
          claim,
          'Normal',
          'WaitForFirstConsumer',
          'waiting for first consumer to be created before binding',
        );
      } else if (claimClass(claim) !== '') {
        return this.provision(claim);
      } else {
        const message = 'no persistent volumes available for this claim and no storage class is set';
        this.event('PersistentVolumeClaim', claim, 'Normal', 'FailedBinding', message);
      }
      await this.updateClaimStatus(claim, 'Pending');
      return;
    }
    const volume = this.volumes.get(volumeName);
    if (!volume) {
      // The claim names a volume that does not exist (yet).
      await this.updateClaimStatus(claim, 'Pending');
    } else if (!volume.spec?.claimRef) {
      const why = unsatisfiedBy(claim, volume);
      if (!why) return this.bind(volume, claim);
      this.event('PersistentVolumeClaim', claim, 'Warning', 'VolumeMismatch', `Cannot bind to requested volume "${volumeName}": ${why}`);
      await this.updateClaimStatus(claim, 'Pending');
    } else if (isBoundToClaim(volume, claim)) {
      await this.bind(volume, claim);
    } else {
      this.event('PersistentVolumeClaim', claim, 'Warning', 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
      await this.updateClaimStatus(claim, 'Pending');
    }
  }

  private async syncBoundClaim(claim: PVC): Promise<void> {
    const volumeName = claim.spec?.volumeName;
    if (!volumeName) {
      const message = 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!';
      return this.claimLost(claim, 'ClaimLost', message);
    }
    const volume = this.volumes.get(volumeName);
    if (!volume) return this.claimLost(claim, 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
    const claimRef = volume.spec?.claimRef;
    // Unbound again (or our own write not seen yet), or all is well: bind() sets only what is missing.
    if (!claimRef || claimRef.uid === claim.metadata?.uid) return this.bind(volume, claim);
    await this.claimLost(claim, 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
  }

  private async claimLost(claim: PVC, reason: string, message: string): Promise<void> {
    if (claim.status?.phase !== 'Lost') this.event('PersistentVolumeClaim', claim, 'Warning', reason, message);
    await this.updateClaimStatus(claim, 'Lost');
  }

  /**
   * WaitForFirstConsumer: only a volume pre-bound to the claim is taken here, even once a node is
   * chosen (the scheduler pre-binds one that fits the node; otherwise the provisioner makes one there).
   */
  private delayBinding(claim: PVC): boolean {
    const name = claimClass(claim);
    return name !== '' && this.classes.get(name)?.volumeBindingMode === 'WaitForFirstConsumer';
  }

  /** No volume fits a claim of a class: its provisioner is to make one. Skiff has no in-tree provisioners. */
  private async provision(claim: PVC): Promise<void> {
    const name = claimClass(claim);
    const sc = this.classes.get(name);
    if (!sc) {
      this.event('PersistentVolumeClaim', claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${name}" not found`);
      return;
    }
    const provisioner = sc.provisioner;
    if (provisioner.startsWith('kubernetes.io/')) {
      this.event('PersistentVolumeClaim', claim, 'Warning', 'ProvisioningFailed', `no volume plugin matched name: ${provisioner}`);
      return;
    }
    let updated = claim;
    const annotations = claim.metadata?.annotations ?? {};
    if (annotations[ANN_STORAGE_PROVISIONER] !== provisioner || annotations[ANN_BETA_STORAGE_PROVISIONER] !== provisioner) {
      const next = clone(claim);
      next.metadata!.annotations = { ...annotations, [ANN_STORAGE_PROVISIONER]: provisioner, [ANN_BETA_STORAGE_PROVISIONER]: provisioner };
      updated = await this.claimClient.update(next);
    }
    const message =
      `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. ` +
      'If volume creation is delayed, please verify that the provisioner is running and correctly registered.';
    this.event('PersistentVolumeClaim', updated, 'Normal', 'ExternalProvisioning', message);
  }

  /**
   * Binds in upstream's order, each step only if needed: the volume's claimRef, the volume Bound, the
   * claim's volumeName and annotations, the claim Bound. A step that fails leaves the rest to the
   * next sync, which finishes the binding.
   */
  private async bind(volume: PV, claim: PVC): Promise<void> {
    let pv = volume;
    const claimRef = pv.spec?.claimRef;
    const byController = !isBoundToClaim(pv, claim);
    const meta = claim.metadata!;
    if (!claimRef || claimRef.name !== meta.name || claimRef.namespace !== meta.namespace || claimRef.uid !== meta.uid) {
      const next = clone(pv);
      next.spec ??= {};
      next.spec.claimRef = {
        kind: 'PersistentVolumeClaim',
        apiVersion: 'v1',
        namespace: meta.namespace,
        name: meta.name,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      };
      if (byController) next.metadata!.annotations = { ...next.metadata!.annotations, [ANN_BOUND_BY_CONTROLLER]: 'yes' };
      pv = await this.volumeClient.update(next);
    }
    pv = await this.updateVolumePhase(pv, 'Bound');

    let pvc = claim;
    const annotations = pvc.metadata?.annotations ?? {};
    const setName = pvc.spec?.volumeName !== pv.metadata!.name;
    if (setName || annotations[ANN_BIND_COMPLETED] === undefined) {
      const next = clone(pvc);
      next.spec ??= {};
      next.spec.volumeName = pv.metadata!.name;
      next.metadata!.annotations = {
        ...annotations,
        ...(setName && annotations[ANN_BOUND_BY_CONTROLLER] === undefined ? { [ANN_BOUND_BY_CONTROLLER]: 'yes' } : {}),
        [ANN_BIND_COMPLETED]: annotations[ANN_BIND_COMPLETED] ?? 'yes',
      };
      pvc = await this.claimClient.update(next);
    }
    await this.updateClaimStatus(pvc, 'Bound', pv);
  }

  private async updateClaimStatus(claim: PVC, phase: string, volume?: PV): Promise<PVC> {
    const next = clone(claim);
    const status = (next.status ??= {});
    let dirty = status.phase !== phase;
    status.phase = phase;
    if (!volume) {
      // Not bound: what it had from a volume goes.
      dirty ||= status.accessModes !== undefined || status.capacity !== undefined;
      status.accessModes = undefined;
      status.capacity = undefined;
    } else {
      const modes = volume.spec?.accessModes ?? [];
      if (JSON.stringify(status.accessModes ?? []) !== JSON.stringify(modes)) {
        status.accessModes = [...modes];
        dirty = true;
      }
      // Capacity is set as the claim becomes Bound, not after: a difference may be meant (a resize).
      if (claim.status?.phase !== phase && String(status.capacity?.storage) !== String(volume.spec?.capacity?.storage)) {
        status.capacity = { ...volume.spec?.capacity };
        dirty = true;
      }
    }
    return dirty ? this.claimClient.updateStatus(next) : claim;
  }

  // ---- volumes ----

  private async syncVolume(volume: PV): Promise<void> {
    const claimRef = volume.spec?.claimRef;
    // Unused, or reserved for a claim that has not bound it yet (the claim's sync does that).
    if (!claimRef?.uid) {
      await this.updateVolumePhase(volume, 'Available');
      return;
    }
    const claim = await this.claimOf(volume);
    if (!claim) {
      let pv = volume;
      if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') pv = await this.updateVolumePhase(pv, 'Released');
      await this.reclaim(pv);
      return;
    }
    const volumeName = claim.spec?.volumeName;
    if (!volumeName) {
      if (volumeModeMismatch(claim, volume)) {
        const [pvName, claimName] = [volume.metadata!.name, claim.metadata!.name];
        const pvMessage = `Cannot bind PersistentVolume to requested PersistentVolumeClaim "${claimName}" due to incompatible volumeMode.`;
        this.event('PersistentVolume', volume, 'Warning', 'VolumeMismatch', pvMessage);
        const claimMessage = `Cannot bind PersistentVolume "${pvName}" to requested PersistentVolumeClaim due to incompatible volumeMode.`;
        this.event('PersistentVolumeClaim', claim, 'Warning', 'VolumeMismatch', claimMessage);
        return;
      }
      // Bound on the volume's side only: the claim's sync finishes it.
      this.queue.add(CLAIM + keyOf(claim));
    } else if (volumeName === volume.metadata!.name) {
      await this.updateVolumePhase(volume, 'Bound');
    } else if (volume.metadata?.annotations?.[ANN_DYNAMICALLY_PROVISIONED] && volume.spec?.persistentVolumeReclaimPolicy === 'Delete') {
      // Made for this claim, which got another volume: not needed.
      let pv = volume;
      if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed') pv = await this.updateVolumePhase(pv, 'Released');
      await this.reclaim(pv);
    } else {
      await this.unbindVolume(volume);
    }
  }

  /**
   * The live claim the volume's claimRef names, or undefined when it is gone or is another claim of
   * the same name. The informer may lag behind a claim just made: the API has the last word.
   */
  private async claimOf(volume: PV): Promise<PVC | undefined> {
    const { namespace, name, uid } = volume.spec!.claimRef!;
    let claim = this.claims.get(`${namespace}/${name}`);
    const released = volume.status?.phase === 'Released' || volume.status?.phase === 'Failed';
    if ((!claim && !released) || (claim && claim.metadata?.uid !== uid)) {
      claim = await this.claimClient.get(namespace, name!).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
    }
    return claim && claim.metadata?.uid === uid ? claim : undefined;
  }

  /** Bound by us: free again. Bound by its maker: stays reserved for the claim, without the old uid. */
  private async unbindVolume(volume: PV): Promise<void> {
    const next = clone(volume);
    if (next.metadata?.annotations?.[ANN_BOUND_BY_CONTROLLER] !== undefined) {
      delete next.spec!.claimRef;
      delete next.metadata.annotations[ANN_BOUND_BY_CONTROLLER];
    } else {
      next.spec!.claimRef!.uid = '';
    }
    await this.updateVolumePhase(await this.volumeClient.update(next), 'Available');
  }

  private async reclaim(volume: PV): Promise<void> {
    switch (volume.spec?.persistentVolumeReclaimPolicy) {
      case 'Recycle':
        // Skiff has no recycler: the volume fails, as upstream's does without a recycler plugin.
        if (volume.status?.phase !== 'Failed') {
          this.event('PersistentVolume', volume, 'Warning', 'VolumeFailedRecycle', 'No recycler plugin found for the volume!');
          await this.updateVolumePhase(volume, 'Failed', 'No recycler plugin found for the volume!');
        }
        return;
      case 'Delete':
        return this.deleteVolume(volume);
      default:
        // Retain: the volume stays Released until someone deals with it.
        return;
    }
  }

  /** A provisioner's volume is its to delete (with the storage); any other goes as an object, its storage kept. */
  private async deleteVolume(volume: PV): Promise<void> {
    const provisioner = volume.metadata?.annotations?.[ANN_DYNAMICALLY_PROVISIONED];
    if (provisioner && !provisioner.startsWith('kubernetes.io/')) return;
    const users = this.podsUsing(volume);
    if (users.length > 0) {
      this.event('PersistentVolume', volume, 'Normal', 'VolumeDelete', `Volume is used by pods: ${users.join(',')}`);
      return;
    }
    await this.volumeClient
      .delete(undefined, volume.metadata!.name!, { preconditions: { uid: volume.metadata!.uid } })
      .catch(ignoreNotFoundOrReplaced);
  }

  /** Pods not yet finished that mount the claim the volume was bound to. */
  private podsUsing(volume: PV): string[] {
    const { namespace, name } = volume.spec!.claimRef!;
    return this.pods
      .list(namespace)
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .filter((p) => (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === name))
      .map((p) => p.metadata!.name!);
  }

  private async updateVolumePhase(volume: PV, phase: string, message?: string): Promise<PV> {
    if (volume.status?.phase === phase && (volume.status?.message ?? '') === (message ?? '')) return volume;
    const next = clone(volume);
    const status = (next.status ??= {});
    if (status.phase !== phase) status.lastPhaseTransitionTime = nowTimestamp();
    status.phase = phase;
    if (message) status.message = message;
    else delete status.message;
    return this.volumeClient.updateStatus(next);
  }
}

/** Whether the volume's claimRef names the claim (its namespace and name, whatever the uid). */
function refersTo(volume: PV, claim: PVC): boolean {
  const r = volume.spec?.claimRef;
  return !!r && r.namespace === claim.metadata?.namespace && r.name === claim.metadata?.name;
}

/** A claim not bound yet, that a newly free volume might serve. */
function waiting(claim: PVC): boolean {
  return claim.metadata?.annotations?.[ANN_BIND_COMPLETED] === undefined;
}
