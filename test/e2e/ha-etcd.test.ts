// Three servers on embedded etcd, each in its own network namespace (its own 6443, 2379 and 2380):
// the first with --cluster-init, the other two joining it with --server and the token. Then the
// fault scenario (the controller manager's leader killed with its member, another server paused
// with its member and resumed, the killed one restarted): no acknowledged write lost, the history
// linearizable. Last, a server whose Node is deleted leaves the etcd member list.
import path from 'node:path';
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { runFaultScenario } from '../helpers/fault-scenario.js';
import { createNetLab } from '../helpers/netlab.js';
import { etcdClient } from '../../src/server/etcd-member.js';

const TOKEN = ['--token', 'ha-etcd-test'];

t.test('three servers on embedded etcd survive the loss of one, and a deleted server leaves the member list', async (t) => {
  const lab = createNetLab(t, 3);
  const [h0, h1, h2] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0], (typeof lab.hosts)[0]];
  const first = await startCluster(t, ['--cluster-init', '--node-name', 'server-0', ...TOKEN], { host: h0 });
  const join = ['--server', `https://${h0.ip}:6443`, ...TOKEN];
  // One at a time: etcd adds a member only while every member is connected.
  const second = await startCluster(t, [...join, '--node-name', 'server-1'], { host: h1 });
  const third = await startCluster(t, [...join, '--node-name', 'server-2'], { host: h2 });

  const tls = path.join(first.dataDir, 'server', 'tls', 'etcd');
  const etcd = etcdClient([`https://${h0.ip}:2379`, `https://${h1.ip}:2379`], {
    cafile: path.join(tls, 'server-ca.crt'),
    certfile: path.join(tls, 'client.crt'),
    keyfile: path.join(tls, 'client.key'),
  });
  t.teardown(() => etcd.close());
  const members = async () => (await etcd.cluster.memberList({})).members.map((m) => m.name).sort();
  t.same(await members(), ['server-0', 'server-1', 'server-2'], 'three members');
  t.equal(await third.k('get', 'namespace', 'kube-system', '-o', 'name'), 'namespace/kube-system\n', 'a joined server serves the cluster');

  await runFaultScenario(t, [first, second, third], { pauseChildren: true });

  // kubectl delete node: the server's member leaves (a server without an agent has no Node of its
  // own here, so the test makes the one its agent would have).
  await third.stop();
  await first.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'server-2' } }) });
  await first.k('delete', 'node', 'server-2');
  await eventually(async () => (await members()).join(',') === 'server-0,server-1', {
    what: 'the deleted server to leave the etcd members',
    explain: async () => (await members()).join(','),
  });
  t.pass('the deleted server left the member list');
  // The removal may move etcd's leadership: a call in that moment can fail, as with any etcd.
  await eventually(async () => (await second.k('create', 'configmap', 'after-removal')).length > 0, {
    what: 'the two members left to commit a write',
  });
  t.match(await second.k('get', 'configmap', 'after-removal', '-o', 'name'), 'configmap/after-removal', 'two members still serve');
});
