// Which PersistentVolume a claim may have, as upstream's persistent volume controller decides it
// (pkg/controller/volume/persistentvolume: FindMatchingVolume, checkVolumeSatisfyClaim): pure
// functions of the objects, so the binder's rules are tested without an API.
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from './quantity.js';
import { fromLabelSelector, matches } from './selectors.js';

/** The annotation that still overrides spec.storageClassName, on claims and volumes alike. */
export const BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';

/** A claim's class: the beta annotation, else spec.storageClassName, else "" (unset and "" are one). */
export function claimClass(claim: PersistentVolumeClaim): string {
  return claim.metadata?.annotations?.[BETA_STORAGE_CLASS] ?? claim.spec?.storageClassName ?? '';
}

/** A volume's class, by the same rule. */
export function volumeClass(volume: PersistentVolume): string {
  return volume.metadata?.annotations?.[BETA_STORAGE_CLASS] ?? volume.spec?.storageClassName ?? '';
}

/** Whether the volume's claimRef names this claim: same namespace and name, and its uid if it has one. */
export function isBoundToClaim(volume: PersistentVolume, claim: PersistentVolumeClaim): boolean {
  const ref = volume.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== claim.metadata?.name || ref.namespace !== claim.metadata?.namespace) return false;
  return !ref.uid || ref.uid === claim.metadata?.uid;
}

const storage = (list: Record<string, string | number> | undefined): number => {
  const q = list?.storage;
  if (q === undefined) return 0;
  try {
    return parseQuantity(q);
  } catch {
    return 0;
  }
};

export const requestedStorage = (claim: PersistentVolumeClaim): number => storage(claim.spec?.resources?.requests);
export const volumeStorage = (volume: PersistentVolume): number => storage(volume.spec?.capacity);

/** Filesystem unless said otherwise, on both sides. */
export const volumeModeMismatch = (claim: PersistentVolumeClaim, volume: PersistentVolume): boolean =>
  (claim.spec?.volumeMode ?? 'Filesystem') !== (volume.spec?.volumeMode ?? 'Filesystem');

/** Every access mode the claim asks for is one the volume offers. */
export const accessModesFit = (claim: PersistentVolumeClaim, volume: PersistentVolume): boolean =>
  (claim.spec?.accessModes ?? []).every((m) => (volume.spec?.accessModes ?? []).includes(m));

/**
 * Why a volume the claim names in spec.volumeName cannot be its volume (upstream's
 * checkVolumeSatisfyClaim, in its words), or undefined when it can. The claim's selector does not
 * count here: a claim that names its volume has chosen it.
 */
export function unsatisfiedBy(claim: PersistentVolumeClaim, volume: PersistentVolume): string | undefined {
  if (volume.metadata?.deletionTimestamp) return `the volume is marked for deletion "${volume.metadata.name}"`;
  if (volumeStorage(volume) < requestedStorage(claim)) return 'requested PV is too small';
  if (volumeClass(volume) !== claimClass(claim)) return 'storageClassName does not match';
  if (volumeModeMismatch(claim, volume)) return 'incompatible volumeMode';
  if (!accessModesFit(claim, volume)) return 'incompatible accessMode';
  return undefined;
}

/**
 * The volume for a claim without spec.volumeName (upstream's FindMatchingVolume, without a node): a
 * volume pre-bound to this claim by its claimRef wins; else the smallest Available volume of the
 * claim's class whose capacity, access modes, volume mode and labels (the claim's selector) fit.
 * With `delayBinding` (a WaitForFirstConsumer class) only a pre-bound volume is taken: the rest is
 * for whoever places the claim's first pod.
 */
export function findMatchingVolume(
  claim: PersistentVolumeClaim,
  volumes: PersistentVolume[],
  delayBinding = false,
): PersistentVolume | undefined {
  const requested = requestedStorage(claim);
  const wantedClass = claimClass(claim);
  const selector = fromLabelSelector(claim.spec?.selector ?? undefined);
  let smallest: PersistentVolume | undefined;
  for (const volume of volumes) {
    if (volume.spec?.claimRef && !isBoundToClaim(volume, claim)) continue;
    // Upstream indexes volumes by access modes: only those offering all the claim asks for are looked at.
    if (!accessModesFit(claim, volume)) continue;
    const size = volumeStorage(volume);
    if (size < requested) continue;
    if (volumeModeMismatch(claim, volume)) continue;
    if (volume.metadata?.deletionTimestamp) continue;
    if (isBoundToClaim(volume, claim)) return volume;
    if (delayBinding) continue;
    if (volume.status?.phase !== 'Available') continue;
    if (selector && !matches(selector, volume.metadata?.labels)) continue;
    if (volumeClass(volume) !== wantedClass) continue;
    if (!smallest || volumeStorage(smallest) > size) smallest = volume;
  }
  return smallest;
}
