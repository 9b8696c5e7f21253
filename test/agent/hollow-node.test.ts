import t from 'tap';
import { HollowNode } from '../../src/agent/hollow-node.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { pods, type Writable } from '../../src/client/resources.js';
import { inProcessTransport, type Transport } from '../../src/client/transport.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { admin, apiHarness } from '../apiserver/harness.js';
import { eventually } from '../helpers/eventually.js';

t.test('a pod changed while the node reports it Running is reported again from its newer copy', async (t) => {
  let node: HollowNode | undefined;
  t.teardown(() => node?.stop());
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  const direct = inProcessTransport(h.app, admin);
  let interposed = false;
  // The node's first status write waits until someone else (the node lifecycle controller, say) has
  // changed the pod and the node's informer holds that newer copy: the write then meets a conflict.
  const transport: Transport = async (method, path, init) => {
    if (method === 'PUT' && /\/pods\/p\/status(\?|$)/.test(path) && !interposed) {
      interposed = true;
      const changed = await api
        .resource(pods)
        .patch('default', 'p', { status: { conditions: [{ type: 'Ready', status: 'False' }] } }, 'strategic', 'status');
      await eventually(
        () =>
          (node as unknown as { informer: { get(k: string): Writable<Pod> } }).informer.get('default/p')?.metadata?.resourceVersion ===
          changed.metadata?.resourceVersion,
        { what: "the node's informer to hold the changed pod" },
      );
    }
    return direct(method, path, init);
  };
  node = new HollowNode(new ApiClient(transport), { name: 'n1' });
  await node.start();
  await api.resource(pods).create({
    metadata: { name: 'p', namespace: 'default' },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
  });
  const running = await eventually(
    async () => {
      const p = await api.resource(pods).get('default', 'p');
      return p?.status?.phase === 'Running' ? p : undefined;
    },
    { timeout: 15_000, what: 'the pod Running' },
  );
  t.ok(interposed, 'the status write met a newer copy');
  t.equal(running.status?.phase, 'Running');
});
