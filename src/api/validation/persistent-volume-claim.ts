// A claim's spec after creation, as upstream's ValidatePersistentVolumeClaimUpdate allows it to
// change: volumeName once (the binder sets it), storageClassName once when unset (a default class
// given later), and the storage request of a bound claim, upwards only. Everything else is fixed:
// claims are immutable so that quota and limits cannot be gamed.
import { isDeepStrictEqual } from 'node:util';
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { FieldError } from '../../k8s/errors.js';
import { requestedStorage } from '../../k8s/volume-match.js';
import { forbidden } from './names.js';

type Spec = NonNullable<PersistentVolumeClaim['spec']>;
const plain = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const storage = (spec: Spec | undefined) => spec?.resources?.requests?.storage;

export function validateClaimUpdate(claim: PersistentVolumeClaim, old?: PersistentVolumeClaim): FieldError[] {
  if (!old) return [];
  const was: Spec = plain(old.spec) ?? {};
  const now: Spec = plain(claim.spec) ?? {};
  if (!was.volumeName && now.volumeName !== undefined) was.volumeName = now.volumeName;
  if (was.storageClassName === undefined && now.storageClassName !== undefined) was.storageClassName = now.storageClassName;
  const errors: FieldError[] = [];
  if (claim.status?.phase === 'Bound' && storage(now) !== undefined) {
    if (requestedStorage(claim) < requestedStorage(old))
      errors.push(forbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
    was.resources = { ...was.resources, requests: { ...was.resources?.requests, storage: storage(now)! } };
  }
  if (!isDeepStrictEqual(was, now)) {
    errors.push(
      forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'),
    );
  }
  return errors;
}
