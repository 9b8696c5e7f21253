// A group whose discovery fails is not skipped: the namespace controller keeps the namespace (with
// upstream's NamespaceDeletionDiscoveryFailure condition and an event) until the group can be looked
// at, and the garbage collector does not finish an orphaning delete whose dependents it cannot see.
import t, { type Test } from 'tap';
import { admin, apiHarness } from '../apiserver/harness.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport, type Transport } from '../../src/client/transport.js';
import { runControllers } from '../../src/controllers/manager.js';
import { eventually } from '../helpers/eventually.js';

/** The API in-process, with discovery of apps/v1 answering 503 while `failing` is set. */
async function setup(t: Test) {
  const h = await apiHarness(t);
  const base = inProcessTransport(h.app, admin);
  const state = { failing: true, failures: 0 };
  const transport: Transport = async (method, path, init) => {
    if (state.failing && method === 'GET' && path.split('?')[0] === '/apis/apps/v1') {
      state.failures++;
      return new Response(JSON.stringify({ kind: 'Status', code: 503, message: 'the server is currently unable to handle the request' }), {
        status: 503,
        headers: { 'content-type': 'application/json' },
      });
    }
    return base(method, path, init);
  };
  const stop = new AbortController();
  const run = runControllers(new ApiClient(transport), stop.signal);
  t.teardown(async () => {
    stop.abort();
    await run;
  });
  return { h, state };
}

const configMap = (name: string, namespace: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace } });
const revision = (name: string) => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name }, revision: 1 });

t.test('namespace deletion waits for a group whose discovery fails, and says so', async (t) => {
  const { h, state } = await setup(t);
  await h.request('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
  t.equal((await h.request('POST', '/apis/apps/v1/namespaces/doomed/controllerrevisions', revision('r1'))).status, 201);
  await h.request('POST', '/api/v1/namespaces/doomed/configmaps', configMap('plain', 'doomed'));
  await h.request('DELETE', '/api/v1/namespaces/doomed');
  const ns = await eventually(
    async () => {
      const n = (await h.request('GET', '/api/v1/namespaces/doomed')).body;
      return n.status?.conditions?.find((c: any) => c.type === 'NamespaceDeletionDiscoveryFailure' && c.status === 'True') && n;
    },
    { what: 'the discovery failure condition' },
  );
  t.match(
    ns.status.conditions.find((c: any) => c.type === 'NamespaceDeletionDiscoveryFailure'),
    {
      reason: 'DiscoveryFailed',
      message: /^Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: apps\/v1: /,
    },
  );
  await eventually(async () => (await h.request('GET', '/api/v1/namespaces/doomed/configmaps/plain')).status === 404, {
    what: 'what can be deleted to be deleted meanwhile',
  });
  t.equal((await h.request('GET', '/apis/apps/v1/namespaces/doomed/controllerrevisions/r1')).status, 200, 'the apps object is still there');
  const events = (await h.request('GET', '/api/v1/events')).body.items;
  t.ok(
    events.some((e: any) => e.reason === 'NamespaceDeletionDiscoveryFailure' && e.type === 'Warning' && e.involvedObject.name === 'doomed'),
    'a Warning event on the namespace',
  );
  const failures = state.failures;
  state.failing = false;
  await eventually(async () => (await h.request('GET', '/api/v1/namespaces/doomed')).status === 404, {
    what: 'the namespace to go once discovery works',
  });
  t.ok(failures >= 1, 'discovery was tried again after it failed');
});

t.test('orphaning waits for a complete graph: a dependent in an undiscovered group is orphaned, not lost', async (t) => {
  const { h, state } = await setup(t);
  // The owner is a ConfigMap, its dependent a ControllerRevision (apps), whose discovery fails.
  const owner = (await h.request('POST', '/api/v1/namespaces/default/configmaps', configMap('owner', 'default'))).body;
  const dep = {
    ...revision('dep'),
    metadata: { name: 'dep', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }] },
  };
  t.equal((await h.request('POST', '/apis/apps/v1/namespaces/default/controllerrevisions', dep)).status, 201);
  await h.request('DELETE', '/api/v1/namespaces/default/configmaps/owner', { propagationPolicy: 'Orphan' });
  await eventually(
    async () =>
      (await h.request('GET', '/api/v1/events')).body.items.some(
        (e: any) => e.reason === 'DiscoveryFailed' && e.involvedObject.name === 'owner' && /waiting to orphan/.test(e.message),
      ),
    { what: 'the garbage collector to report why it waits' },
  );
  t.equal((await h.request('GET', '/api/v1/namespaces/default/configmaps/owner')).status, 200, 'the owner is kept meanwhile');
  state.failing = false;
  await eventually(async () => (await h.request('GET', '/api/v1/namespaces/default/configmaps/owner')).status === 404, {
    what: 'the orphaning to finish once discovery works',
  });
  const kept = (await h.request('GET', '/apis/apps/v1/namespaces/default/controllerrevisions/dep')).body;
  t.equal(kept.metadata?.name, 'dep', 'the dependent was orphaned, not deleted');
  t.notOk(kept.metadata.ownerReferences, 'its reference to the owner is gone');
});
