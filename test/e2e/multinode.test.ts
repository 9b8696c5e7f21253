// Two real nodes on one machine, each in a network namespace of the test's own on one segment:
// the server with its own agent, and a joined agent. The ground the network tests stand on.
import t from 'tap';
import { startAgent } from '../helpers/agents.js';
import { startCluster } from '../helpers/cluster.js';
import { createNetLab } from '../helpers/netlab.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';

t.test('a server node and a joined node in their own network namespaces run pods', async (t) => {
  const lab = createNetLab(t, 2);
  const [serverHost, agentHost] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0]];
  const c = await startCluster(t, ['--node-name', 'n0'], { agent: true, host: serverHost });
  await startAgent(t, c, agentHost, { name: 'n1' });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));
  const nodes = JSON.parse(await c.k('get', 'nodes', '-o', 'json'));
  t.same(nodes.items.map((n: any) => n.metadata.name).sort(), ['n0', 'n1']);
  t.same(
    nodes.items.map((n: any) => n.status.addresses.find((a: any) => a.type === 'InternalIP').address).sort(),
    [serverHost.ip, agentHost.ip].sort(),
    'each node reports its lab address',
  );
  for (const node of ['n0', 'n1']) {
    await c.k('run', `p-${node}`, `--image=${BUSYBOX}`, '--overrides', JSON.stringify({ spec: { nodeName: node } }), '--', 'sleep', '3600');
  }
  for (const node of ['n0', 'n1']) {
    const pod = await podWhen(c, `p-${node}`, (p) => p.status?.phase === 'Running' && !!p.status.podIP);
    t.equal(pod.spec.nodeName, node);
  }
});
