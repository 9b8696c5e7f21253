// The scheduler on the in-process API with hollow nodes: pods placed many at a time (their bindings
// in flight together) never overfill a node, and room freed by a pod deleted or finished is used.
import t from 'tap';
import { HollowNode } from '../../src/agent/hollow-node.js';
import { ApiClient } from '../../src/client/rest-client.js';
import { pods } from '../../src/client/resources.js';
import { inProcessTransport } from '../../src/client/transport.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { PodT } from '../../src/scheduler/snapshot.js';
import { admin, apiHarness } from '../apiserver/harness.js';
import { eventually } from '../helpers/eventually.js';

const PER_NODE = 4;

t.test('pods bound many at a time fill the nodes exactly; room freed is used', async (t) => {
  const stop = new AbortController();
  const nodes: HollowNode[] = [];
  let scheduling: Promise<void> | undefined;
  // Registered before the harness: the scheduler and the nodes stop before the datastore closes.
  t.teardown(async () => {
    stop.abort();
    for (const n of nodes) n.stop();
    await scheduling;
  });
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  for (const name of ['n1', 'n2']) nodes.push(new HollowNode(api, { name, capacity: { pods: String(PER_NODE) } }));
  await Promise.all(nodes.map((n) => n.start()));
  scheduling = new Scheduler(api).run(stop.signal);

  const client = api.resource(pods);
  const pod = (name: string): PodT => ({
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '10m' } } }] },
  });
  await Promise.all(Array.from({ length: 2 * PER_NODE + 2 }, (_, i) => client.create(pod(`p${i}`))));

  const placement = async () => {
    const items = (await client.list('default')).items;
    const perNode = new Map<string, number>();
    // Pods holding room on each node: those bound that have not finished.
    for (const p of items)
      if (p.spec?.nodeName && p.status?.phase !== 'Succeeded') perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
    const waiting = items.filter((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'));
    return { items, perNode, waiting };
  };
  const full = await eventually(
    async () => {
      const p = await placement();
      return p.waiting.length === 2 ? p : undefined;
    },
    { what: 'two pods left unschedulable' },
  );
  t.same(Object.fromEntries(full.perNode), { n1: PER_NODE, n2: PER_NODE }, 'each node holds as many pods as it may, no more');
  t.match(full.waiting[0]!.status?.conditions, [{ type: 'PodScheduled', message: '0/2 nodes are available: 2 Too many pods.' }]);

  const bound = full.items.filter((p) => p.spec?.nodeName);
  await client.delete('default', bound[0]!.metadata!.name!);
  await eventually(async () => (await placement()).waiting.length === 1, { what: 'a pending pod placed where a deleted one was' });

  const finished = (await client.get('default', bound[1]!.metadata!.name!))!;
  await client.updateStatus({ ...finished, status: { ...finished.status, phase: 'Succeeded' } });
  const last = await eventually(
    async () => {
      const p = await placement();
      return p.waiting.length === 0 && p.items.every((i) => i.spec?.nodeName) ? p : undefined;
    },
    { what: 'the last pending pod placed where one finished' },
  );
  t.same(Object.fromEntries(last.perNode), { n1: PER_NODE, n2: PER_NODE }, 'the nodes full again, the finished pod holding no room');
});
