// The PersistentVolume controller: which volume a claim gets (a pure function), and the controller
// binding claims and volumes, leaving claims Pending with upstream's events, and releasing or
// deleting the volumes of deleted claims — as its own least-privileged identity.
import t, { type Test } from 'tap';
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport } from '../../src/client/transport.js';
import { events, persistentVolumeClaims, type Writable } from '../../src/client/resources.js';
import { withControllers } from './running.js';
import { DEFAULT_TIMINGS } from '../../src/controllers/settings.js';
import { persistentVolumes, storageClasses } from '../../src/controllers/persistentvolume-binder.js';
import { findMatchingVolume, unsatisfiedBy } from '../../src/k8s/volume-match.js';
import { systemServiceAccount } from '../../src/server/control-plane.js';
import { eventually } from '../helpers/eventually.js';

type PV = Writable<PersistentVolume>;
type PVC = Writable<PersistentVolumeClaim>;

const pv = (name: string, size: string, extra: { spec?: PV['spec']; labels?: Record<string, string>; phase?: string } = {}): PV => ({
  metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
  spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], hostPath: { path: `/tmp/${name}` }, ...extra.spec },
  status: { phase: extra.phase ?? 'Available' },
});
const pvc = (name: string, size: string, spec: PVC['spec'] = {}): PVC => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, ...spec },
});
const nameOf = (v: PV | undefined) => v?.metadata?.name;

t.test('which volume a claim gets', async (t) => {
  const volumes = [pv('big', '10Gi'), pv('small', '1Gi'), pv('tiny', '100Mi'), pv('fast', '1Gi', { spec: { storageClassName: 'fast' } })];
  t.equal(nameOf(findMatchingVolume(pvc('c', '500Mi'), volumes)), 'small', 'the smallest that is large enough');
  t.equal(nameOf(findMatchingVolume(pvc('c', '500Mi', { storageClassName: '' }), volumes)), 'small', '"" is the same as unset');
  t.equal(nameOf(findMatchingVolume(pvc('c', '500Mi', { storageClassName: 'fast' }), volumes)), 'fast', 'only its class');
  t.equal(findMatchingVolume(pvc('c', '20Gi'), volumes), undefined, 'none large enough');
  t.equal(findMatchingVolume(pvc('c', '1Gi', { accessModes: ['ReadWriteMany'] }), volumes), undefined, 'access modes not offered');
  const multi = pv('multi', '5Gi', { spec: { accessModes: ['ReadWriteOnce', 'ReadOnlyMany'] } });
  t.equal(nameOf(findMatchingVolume(pvc('c', '1Gi', { accessModes: ['ReadOnlyMany'] }), [...volumes, multi])), 'multi', 'a superset');
  t.equal(findMatchingVolume(pvc('c', '1Gi', { volumeMode: 'Block' }), volumes), undefined, 'volumeMode');
  const labelled = pv('labelled', '5Gi', { labels: { tier: 'gold' } });
  const selecting = pvc('c', '1Gi', { selector: { matchLabels: { tier: 'gold' } } });
  t.equal(nameOf(findMatchingVolume(selecting, [...volumes, labelled])), 'labelled', 'the claim selects by labels');
  t.equal(nameOf(findMatchingVolume(pvc('c', '1Gi'), [pv('taken', '1Gi', { phase: 'Released' }), pv('b', '2Gi')])), 'b', 'only Available');
  const reserved = pv('reserved', '10Gi', { spec: { claimRef: { namespace: 'default', name: 'c' } } });
  const otherClaim = pv('other', '1Gi', { spec: { claimRef: { namespace: 'default', name: 'd' } } });
  t.equal(nameOf(findMatchingVolume(pvc('c', '1Gi'), [...volumes, otherClaim, reserved])), 'reserved', 'a volume pre-bound to it first');
  t.equal(nameOf(findMatchingVolume(pvc('d', '1Gi'), [otherClaim])), 'other');
  const boundElsewhere = pv('r', '1Gi', { spec: { claimRef: { namespace: 'default', name: 'c', uid: 'another' } } });
  t.equal(findMatchingVolume(pvc('c', '1Gi'), [boundElsewhere]), undefined, 'a claimRef with another uid is another claim');
  t.equal(findMatchingVolume(pvc('c', '1Gi'), volumes, true), undefined, 'WaitForFirstConsumer: not bound here');
  t.equal(nameOf(findMatchingVolume(pvc('c', '1Gi'), [reserved], true)), 'reserved', 'unless pre-bound');

  t.equal(unsatisfiedBy(pvc('c', '1Gi'), pv('v', '1Gi')), undefined);
  t.equal(unsatisfiedBy(pvc('c', '2Gi'), pv('v', '1Gi')), 'requested PV is too small');
  t.equal(unsatisfiedBy(pvc('c', '1Gi', { storageClassName: 'x' }), pv('v', '1Gi')), 'storageClassName does not match');
  t.equal(unsatisfiedBy(pvc('c', '1Gi', { volumeMode: 'Block' }), pv('v', '1Gi')), 'incompatible volumeMode');
  t.equal(unsatisfiedBy(pvc('c', '1Gi', { accessModes: ['ReadWriteMany'] }), pv('v', '1Gi')), 'incompatible accessMode');
});

async function cluster(t: Test) {
  // Each controller as its own service account, as the server runs them: the binder's role is enough.
  const { api } = await withControllers(t, (h) => ({
    identity: (name) => new ApiClient(inProcessTransport(h.app, systemServiceAccount(name)), name),
    timings: { ...DEFAULT_TIMINGS, nodeMonitorGracePeriodMs: 3_600_000 },
  }));
  const volumes = api.resource(persistentVolumes);
  const claims = api.resource(persistentVolumeClaims);
  const createVolume = (name: string, size: string, spec: PV['spec'] = {}) =>
    volumes.create({
      metadata: { name },
      spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], hostPath: { path: `/tmp/${name}` }, ...spec },
    });
  const createClaim = (name: string, size: string, spec: PVC['spec'] = {}) =>
    claims.create({
      metadata: { name, namespace: 'default' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, ...spec },
    });
  const claimWhen = (name: string, ok: (c: PVC) => boolean, what: string) =>
    eventually(
      async () => {
        const c = await claims.get('default', name);
        return ok(c) ? c : undefined;
      },
      { what },
    );
  const volumeWhen = (name: string, ok: (v: PV) => boolean, what: string) =>
    eventually(
      async () => {
        const v = await volumes.get(undefined, name);
        return ok(v) ? v : undefined;
      },
      { what },
    );
  const eventFor = (name: string, reason: string) =>
    eventually(
      async () => (await api.resource(events).list('default')).items.find((e) => e.involvedObject.name === name && e.reason === reason),
      {
        what: `a ${reason} event for ${name}`,
      },
    );
  return { api, volumes, claims, createVolume, createClaim, claimWhen, volumeWhen, eventFor };
}

t.test('a claim naming its volume is bound to it; another claim naming it waits', async (t) => {
  const c = await cluster(t);
  await c.createVolume('local-pv', '1Gi');
  const created = await c.createClaim('claim', '1Gi', { volumeName: 'local-pv', storageClassName: '' });
  const claim = await c.claimWhen('claim', (x) => x.status?.phase === 'Bound', 'the claim Bound');
  t.same(claim.status, { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] });
  t.equal(claim.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
  t.equal(claim.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined, 'the user chose the volume');
  const volume = await c.volumeWhen('local-pv', (v) => v.status?.phase === 'Bound', 'the volume Bound');
  t.match(volume.spec?.claimRef, {
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    namespace: 'default',
    name: 'claim',
    uid: created.metadata?.uid,
  });
  t.ok(volume.spec?.claimRef?.resourceVersion, 'the claim resourceVersion it was bound at');
  t.equal(volume.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');

  await c.createClaim('late', '1Gi', { volumeName: 'local-pv', storageClassName: '' });
  const event = await c.eventFor('late', 'FailedBinding');
  t.match(event, { type: 'Warning', message: 'volume "local-pv" already bound to a different claim.' });
  t.equal((await c.claims.get('default', 'late')).status?.phase, 'Pending');

  await c.createVolume('small', '1Gi');
  await c.createClaim('mismatch', '5Gi', { volumeName: 'small', storageClassName: '' });
  t.match(await c.eventFor('mismatch', 'VolumeMismatch'), {
    type: 'Warning',
    message: 'Cannot bind to requested volume "small": requested PV is too small',
  });
});

t.test('a claim without a volume gets the smallest that fits, or waits with an event', async (t) => {
  const c = await cluster(t);
  await c.createVolume('big', '10Gi');
  await c.createVolume('medium', '2Gi');
  await c.createVolume('classy', '1Gi', { storageClassName: 'fast' });
  await c.volumeWhen('medium', (v) => v.status?.phase === 'Available', 'a new volume Available');
  await c.createClaim('data', '1Gi');
  const claim = await c.claimWhen('data', (x) => x.status?.phase === 'Bound', 'the claim Bound');
  t.equal(claim.spec?.volumeName, 'medium');
  t.same(claim.status?.capacity, { storage: '2Gi' });
  t.equal(claim.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
  t.equal(claim.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
  await c.volumeWhen('medium', (v) => v.status?.phase === 'Bound' && v.spec?.claimRef?.uid === claim.metadata?.uid, 'medium bound');
  t.equal((await c.volumes.get(undefined, 'big')).status?.phase, 'Available');

  await c.createClaim('huge', '100Gi');
  t.match(await c.eventFor('huge', 'FailedBinding'), {
    type: 'Normal',
    message: 'no persistent volumes available for this claim and no storage class is set',
  });
  t.equal((await c.claims.get('default', 'huge')).status?.phase, 'Pending');
  // A volume that fits, made later, is taken.
  await c.createVolume('huger', '200Gi');
  await c.claimWhen('huge', (x) => x.status?.phase === 'Bound' && x.spec?.volumeName === 'huger', 'bound once a volume fits');
});

t.test('claims of a storage class: WaitForFirstConsumer waits, a provisioner is asked', async (t) => {
  const c = await cluster(t);
  const classes = c.api.resource(storageClasses);
  await classes.create({ metadata: { name: 'local' }, provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer' });
  await classes.create({ metadata: { name: 'remote' }, provisioner: 'example.com/nfs' });
  await c.createVolume('local-1', '1Gi', { storageClassName: 'local' });
  await c.createClaim('later', '1Gi', { storageClassName: 'local' });
  t.match(await c.eventFor('later', 'WaitForFirstConsumer'), {
    type: 'Normal',
    message: 'waiting for first consumer to be created before binding',
  });
  t.equal((await c.volumes.get(undefined, 'local-1')).spec?.claimRef, undefined, 'not bound before its pod is placed');
  // Its node chosen (the scheduler's annotation): the provisioner is asked for a volume there; a
  // free volume of the class may be on another node, so it is not taken here (upstream's rule).
  await c.claims.patch('default', 'later', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'n1' } } });
  t.match((await c.eventFor('later', 'ExternalProvisioning')).message, /external provisioner 'rancher.io\/local-path'/);
  t.equal((await c.volumes.get(undefined, 'local-1')).spec?.claimRef, undefined, 'the free volume stays free');

  await c.createClaim('wanted', '1Gi', { storageClassName: 'remote' });
  const event = await c.eventFor('wanted', 'ExternalProvisioning');
  t.match(event.message, /^Waiting for a volume to be created either by the external provisioner 'example.com\/nfs' or manually/);
  const claim = await c.claims.get('default', 'wanted');
  t.equal(claim.metadata?.annotations?.['volume.kubernetes.io/storage-provisioner'], 'example.com/nfs');
  t.equal(claim.metadata?.annotations?.['volume.beta.kubernetes.io/storage-provisioner'], 'example.com/nfs');
  t.equal(claim.status?.phase, 'Pending');
});

t.test('the volume of a deleted claim: Retain releases it, Delete deletes it, Recycle fails', async (t) => {
  const c = await cluster(t);
  const bound = async (volume: string, claim: string, policy: string) => {
    await c.createVolume(volume, '1Gi', { persistentVolumeReclaimPolicy: policy });
    await c.createClaim(claim, '1Gi', { volumeName: volume, storageClassName: '' });
    await c.claimWhen(claim, (x) => x.status?.phase === 'Bound', `${claim} Bound`);
    await c.volumeWhen(volume, (v) => v.status?.phase === 'Bound', `${volume} Bound`);
  };
  await bound('kept', 'keeper', 'Retain');
  await bound('gone', 'deleter', 'Delete');
  await bound('recycled', 'recycler', 'Recycle');

  await c.claims.delete('default', 'keeper');
  const kept = await c.volumeWhen('kept', (v) => v.status?.phase === 'Released', 'the retained volume Released');
  t.equal(kept.spec?.claimRef?.name, 'keeper', 'it still names the claim it had');
  // A new claim of the same name is another claim: the volume stays Released.
  await c.createClaim('keeper', '1Gi', { storageClassName: '' });
  t.match(await c.eventFor('keeper', 'FailedBinding'), {
    message: 'no persistent volumes available for this claim and no storage class is set',
  });
  t.equal((await c.volumes.get(undefined, 'kept')).status?.phase, 'Released');

  await c.claims.delete('default', 'deleter');
  await eventually(async () => !(await c.volumes.list()).items.some((v) => v.metadata?.name === 'gone'), {
    what: 'the Delete volume gone',
  });

  await c.claims.delete('default', 'recycler');
  const failed = await c.volumeWhen('recycled', (v) => v.status?.phase === 'Failed', 'the Recycle volume Failed');
  t.equal(failed.status?.message, 'No recycler plugin found for the volume!');
  t.match(await c.eventFor('recycled', 'VolumeFailedRecycle'), { type: 'Warning' });
});
