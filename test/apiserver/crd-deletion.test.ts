// Deleting a CustomResourceDefinition deletes its custom objects first, as upstream's CRD finalizer:
// the CRD keeps its cleanup finalizer while an object's deletion fails or an object waits for its
// own finalizers, says so in its Terminating condition, and tries again until none is left.
import t from 'tap';
import { apiHarness } from './harness.js';
import { eventually } from '../helpers/eventually.js';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const WIDGETS = '/apis/example.com/v1/namespaces/default/widgets';
const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};
const widget = (name: string, finalizers?: string[]) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name, finalizers } });

t.test('a failed delete of a custom object keeps the CRD, reports it, and is tried again', async (t) => {
  const h = await apiHarness(t);
  t.equal((await h.request('POST', CRDS, crd)).status, 201);
  await eventually(async () => (await h.request('GET', WIDGETS)).status === 200, { what: 'the CRD to be served' });
  t.equal((await h.request('POST', WIDGETS, widget('w1'))).status, 201);
  // The datastore refuses the first removal of a widget.
  const remove = h.objects.remove.bind(h.objects);
  let failures = 1;
  h.objects.remove = async (def, obj) => {
    if (def.group === 'example.com' && failures-- > 0) throw new Error('disk on fire');
    return remove(def, obj);
  };
  t.equal((await h.request('DELETE', `${CRDS}/widgets.example.com`)).status, 202, 'accepted: the CRD is only marked');
  const failed = await eventually(
    async () => {
      const c = (await h.request('GET', `${CRDS}/widgets.example.com`)).body;
      return c.status?.conditions?.find((x: any) => x.type === 'Terminating' && x.reason === 'InstanceDeletionFailed') && c;
    },
    { what: 'the Terminating condition to report the failure' },
  );
  t.match(
    failed.status.conditions.find((x: any) => x.type === 'Terminating'),
    {
      status: 'True',
      message: 'could not issue all deletes: [disk on fire]',
    },
  );
  t.ok(failed.metadata.finalizers.includes('customresourcecleanup.apiextensions.k8s.io'), 'the finalizer stays');
  await eventually(async () => (await h.request('GET', `${CRDS}/widgets.example.com`)).status === 404, {
    what: 'the retry to delete the widget and then the CRD',
  });
  t.equal(failures, -1, 'the widget was removed on the second try');
});

t.test('custom objects with finalizers are deleted as a client would; the CRD waits until they are gone', async (t) => {
  const h = await apiHarness(t);
  await h.request('POST', CRDS, crd);
  await eventually(async () => (await h.request('GET', WIDGETS)).status === 200, { what: 'the CRD to be served' });
  await h.request('POST', WIDGETS, widget('held', ['example.com/hold']));
  await h.request('DELETE', `${CRDS}/widgets.example.com`);
  const held = await eventually(
    async () => {
      const w = (await h.request('GET', `${WIDGETS}/held`)).body;
      return w.metadata?.deletionTimestamp && w;
    },
    { what: 'the widget to be marked for deletion' },
  );
  t.same(held.metadata.finalizers, ['example.com/hold'], 'its finalizer is honoured');
  const c = (await h.request('GET', `${CRDS}/widgets.example.com`)).body;
  t.match(
    c.status.conditions.find((x: any) => x.type === 'Terminating'),
    {
      status: 'True',
      reason: 'InstanceDeletionInProgress',
      message: 'CustomResource deletion is in progress',
    },
  );
  await h.request('PATCH', `${WIDGETS}/held`, { metadata: { finalizers: null } }, { 'content-type': 'application/merge-patch+json' });
  await eventually(async () => (await h.request('GET', `${CRDS}/widgets.example.com`)).status === 404, { what: 'the CRD to go' });
});
