// What may change in a PersistentVolumeClaim after creation (upstream's update validation and
// PersistentVolumeClaimResize admission), through the in-process API as an admin.
import t from 'tap';
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport } from '../../src/client/transport.js';
import { persistentVolumeClaims, storageClasses, type Writable } from '../../src/client/resources.js';
import { ApiError } from '../../src/k8s/errors.js';
import { admin, apiHarness } from './harness.js';

type PVC = Writable<PersistentVolumeClaim>;

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return { code: err.code, message: err.message };
  }
};

t.test('a claim changes only where upstream lets it', async (t) => {
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  const classes = api.resource(storageClasses);
  await classes.create({ metadata: { name: 'grows' }, provisioner: 'example.com/x', allowVolumeExpansion: true });
  await classes.create({ metadata: { name: 'fixed' }, provisioner: 'example.com/x' });
  const claims = api.resource(persistentVolumeClaims);
  const create = (name: string, storageClassName: string) =>
    claims.create({
      metadata: { name, namespace: 'default' },
      spec: { storageClassName, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  const bind = async (name: string) => {
    const c = await claims.get('default', name);
    const bound = await claims.update({ ...c, spec: { ...c.spec, volumeName: `pv-${name}` } });
    t.equal(bound.spec?.volumeName, `pv-${name}`, 'volumeName may be set once');
    return claims.updateStatus({ ...bound, status: { phase: 'Bound', capacity: { storage: '1Gi' } } });
  };
  const request = (name: string, storage: string) =>
    claims.patch('default', name, { spec: { resources: { requests: { storage } } } }) as Promise<PVC>;

  await create('pending', 'grows');
  const classless = await claims.create({
    metadata: { name: 'classless', namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  t.equal(classless.spec?.storageClassName, undefined, 'no default class in this cluster');
  const annotated = await claims.patch('default', 'classless', { metadata: { annotations: { note: 'x' } } });
  t.equal(annotated.metadata?.annotations?.note, 'x', 'metadata changes need no spec change');
  const classed = await claims.patch('default', 'classless', { spec: { storageClassName: 'grows' } });
  t.equal(classed.spec?.storageClassName, 'grows', 'a class may be given to a claim without one');
  t.match(await refusal(request('pending', '2Gi')), {
    code: 422,
    message: /spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims/,
  });
  t.match(await refusal(claims.patch('default', 'pending', { spec: { accessModes: ['ReadWriteMany'] } })), { code: 422 });

  await create('elastic', 'grows');
  await bind('elastic');
  t.equal((await request('elastic', '3Gi')).spec?.resources?.requests?.storage, '3Gi', 'a bound claim of an expandable class grows');
  t.match(await refusal(request('elastic', '2Gi')), {
    code: 422,
    message: /spec.resources.requests.storage: Forbidden: field can not be less than previous value/,
  });
  t.match(await refusal(claims.patch('default', 'elastic', { spec: { volumeName: 'another' } })), { code: 422 }, 'volumeName only once');

  await create('rigid', 'fixed');
  await bind('rigid');
  t.same(await refusal(request('rigid', '2Gi')), {
    code: 403,
    message:
      'persistentvolumeclaims "rigid" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions ' +
      'the pvc must support resize',
  });
});
