// The embedded etcd member with Debian's real etcd (no root needed): a cluster of three started and
// joined through the member and membership modules on loopback, kept running by its supervisor,
// writing with one member down, shrinking when a Node is deleted, and dying with its server.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ApiClient } from '../../src/client/rest-client.js';
import { nodes } from '../../src/client/resources.js';
import { inProcessTransport } from '../../src/client/transport.js';
import { ConfigError } from '../../src/k8s/config-error.js';
import { createCA, type KeyPair } from '../../src/pki/certificates.js';
import { ensureEtcdPki } from '../../src/pki/etcd-pki.js';
import { type EtcdMember, type EtcdMemberOptions, etcdClient, memberPeerUrl, startEtcdMember } from '../../src/server/etcd-member.js';
import { addMember, removeMember, removeMembersOfDeletedNodes } from '../../src/server/etcd-membership.js';
import { admin, apiHarness } from '../apiserver/harness.js';
import { freePort } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { processAlive, spawnTs, waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

/** Loopback members elect in a blink; the test need not wait Pi-sized timeouts. */
const QUICK = ['heartbeat-interval=50', 'election-timeout=500'];

const ca = await createCA('skiff-test-ca');
const root = tempDir(t, 'skiff-etcd-');

/** The options of a member of its own data dir and free ports on 127.0.0.1. */
async function memberOptions(name: string, ca: KeyPair): Promise<EtcdMemberOptions> {
  const dataDir = path.join(root, name);
  return {
    dataDir,
    name,
    address: '127.0.0.1',
    clientPort: await freePort(),
    peerPort: await freePort(),
    pki: await ensureEtcdPki(dataDir, ca, ['127.0.0.1']),
    extraArgs: QUICK,
  };
}

async function start(t: Test, o: EtcdMemberOptions): Promise<EtcdMember> {
  const member = await startEtcdMember(o);
  t.teardown(() => member.stop());
  return member;
}

t.test('three members: joined, restarted by the supervisor, writing without one, shrinking', async (t) => {
  const [oa, ob, oc] = await Promise.all(['a', 'b', 'c'].map((n) => memberOptions(n, ca)));
  const a = await start(t, oa!);
  const client = etcdClient(a.endpoints, a.tls);
  t.teardown(() => client.close());
  t.equal(await removeMember(client, 'a'), 'last', 'the only member is never removed');

  const peerB = memberPeerUrl('127.0.0.1', ob!.peerPort);
  await t.rejects(addMember(client, 'b=x', peerB), /invalid etcd member name "b=x": expected a node name/);
  await t.rejects(addMember(client, 'b', 'http://b.example:2380'), /invalid etcd peer URL "http:\/\/b.example:2380"/);
  const joinB = await addMember(client, 'b', peerB);
  t.same(
    joinB.split(',').sort(),
    [`a=${memberPeerUrl('127.0.0.1', oa!.peerPort)}`, `b=${peerB}`],
    'initial-cluster: both, the new one by name',
  );
  t.equal(await addMember(client, 'b', peerB), joinB, 'a retried join is answered the same');
  t.equal((await client.cluster.memberList({})).members.length, 2, 'and adds no second member');
  await t.rejects(addMember(client, 'c', memberPeerUrl('127.0.0.1', oc!.peerPort)), /member \(not started\) .* has not started/);
  const b = await start(t, { ...ob!, join: joinB });
  const c = await start(t, { ...oc!, join: await addMember(client, 'c', memberPeerUrl('127.0.0.1', oc!.peerPort)) });
  await t.rejects(addMember(client, 'c', memberPeerUrl('127.0.0.1', 1)), /member c https:\/\/127\.0\.0\.1:\d+ is in the way/);
  const names = async () => (await client.cluster.memberList({})).members.map((m) => m.name).sort();
  t.same(await names(), ['a', 'b', 'c']);

  const killed = b.pid!;
  process.kill(killed, 'SIGKILL');
  const fromB = etcdClient(b.endpoints, b.tls);
  t.teardown(() => fromB.close());
  await eventually(async () => b.pid !== killed && (await fromB.put('after-kill').value('1')), {
    timeout: 30_000,
    what: 'a new etcd process for b that takes writes',
  });
  t.not(b.pid, killed, 'b runs in a new process');

  const cPid = c.pid!;
  await c.stop();
  t.notOk(processAlive(cPid), 'no process is left after stop()');
  const fromAB = etcdClient([...a.endpoints, ...b.endpoints], a.tls);
  t.teardown(() => fromAB.close());
  await fromAB.put('quorum').value('two of three');
  t.equal(await fromB.get('quorum').string(), 'two of three', 'two of three members take writes');

  // `kubectl delete node c` of the stopped server takes its member out.
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  for (const name of ['a', 'b', 'c']) await api.resource(nodes).create({ metadata: { name } });
  const stopLoop = new AbortController();
  const loop = removeMembersOfDeletedNodes(api, client, stopLoop.signal);
  t.teardown(async () => {
    stopLoop.abort();
    await loop;
  });
  await api.resource(nodes).delete(undefined, 'c');
  await eventually(async () => (await names()).length === 2, { timeout: 30_000, what: 'member c removed' });
  t.same(await names(), ['a', 'b']);
  t.equal(await removeMember(client, 'c'), 'absent', 'removing it again is no error');

  // Restarts reuse the data dir: the join is not made again.
  await b.stop();
  const b2 = await start(t, { ...ob!, join: joinB });
  const fromB2 = etcdClient(b2.endpoints, b2.tls);
  t.teardown(() => fromB2.close());
  t.equal(await fromB2.get('quorum').string(), 'two of three', 'the restarted member has the data');
  t.same(await names(), ['a', 'b']);
});

t.test('a member that cannot start fails with its last lines; bad settings fail before etcd runs', async (t) => {
  const o = await memberOptions('bad', ca);
  await t.rejects(
    startEtcdMember({ ...o, extraArgs: ['no-such-flag=1'] }),
    /etcd member bad exited .* before it was ready;.*no-such-flag/s,
  );
  await t.rejects(
    startEtcdMember({ ...o, extraArgs: ['oops'] }),
    new ConfigError('invalid --etcd-arg "oops": expected name=value, e.g. quota-backend-bytes=8589934592'),
  );
  await t.rejects(startEtcdMember({ ...o, address: '0.0.0.0' }), /etcd needs the IP address it is reached at/);
  const noEtcd = tempDir(t);
  fs.symlinkSync('/usr/bin/setpriv', path.join(noEtcd, 'setpriv'));
  const PATH = process.env.PATH;
  process.env.PATH = noEtcd;
  t.teardown(() => {
    process.env.PATH = PATH;
  });
  await t.rejects(startEtcdMember(o), new ConfigError('--cluster-init needs etcd: apt-get install etcd-server'));
});

t.test('the member dies with its server, even when the server is SIGKILLed', async (t) => {
  const o = await memberOptions('orphan', ca);
  const server = spawnTs('test/e2e/fixtures/etcd-member-process.ts', [JSON.stringify(o)]);
  t.teardown(() => server.kill('SIGKILL'));
  const pid = Number((await waitForLine(server, /^etcd pid \d+$/)).split(' ')[2]);
  t.ok(processAlive(pid), 'etcd runs');
  server.kill('SIGKILL');
  await eventually(() => !processAlive(pid), { timeout: 10_000, what: `etcd (pid ${pid}) gone with its server` });
  t.pass('no orphan etcd');
});
