// High availability for agents: two `skiff server`s on one Postgres (one cluster: the same token, so
// the same CAs), an agent joined to A. A dies (SIGKILL): the agent moves to B, which it learnt of from
// default/kubernetes, and goes on there: its Lease keeps being renewed and a pod bound to it through B
// runs. Restarted while A is still down, it finds B again from the list it saved.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startPostgres } from '../helpers/postgres.js';
import { spawnTs, waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

const NODE = 'ha-node';
const TOKEN = ['--token', 'shared-secret'];

t.test('an agent goes on through the other server when the one it joined dies', async (t) => {
  const endpoint = await (await startPostgres(t)).newDatabase();
  const a = await startCluster(t, ['--datastore-endpoint', endpoint, ...TOKEN]);
  // B starts second: default/kubernetes names it when the agent comes.
  const b = await startCluster(t, ['--datastore-endpoint', endpoint, ...TOKEN]);

  const dataDir = tempDir(t, 'skiff-agent-');
  const token = fs.readFileSync(path.join(a.dataDir, 'server', 'token'), 'utf8').trim();
  let agentLog = '';
  const startAgent = async (): Promise<ChildProcess> => {
    const child = spawnTs('src/cli/main.ts', [
      ...['agent', '--hollow', '--server', a.url, '--token', token, '--node-name', NODE],
      ...['--data-dir', dataDir, '--config', '/dev/null'],
    ]);
    t.teardown(() => child.kill('SIGKILL'));
    child.stderr!.on('data', (d: Buffer) => (agentLog += d));
    await waitForLine(child, /skiff agent ready/);
    return child;
  };
  const agent = await startAgent();

  const list = path.join(dataDir, 'agent', 'etc', 'skiff-agent-load-balancer.json');
  const saved = () =>
    fs.existsSync(list) ? (JSON.parse(fs.readFileSync(list, 'utf8')) as { serverURL: string; servers: string[] }) : undefined;
  await eventually(() => saved()?.servers.includes(b.url), {
    what: 'the agent to save the servers default/kubernetes names',
    explain: () => JSON.stringify(saved()),
  });
  t.equal(saved()?.serverURL, a.url, 'saved for --server A');
  t.same(saved()?.servers.sort(), [a.url, b.url].sort(), 'both servers');

  await a.stop('SIGKILL');
  await renewedThrough(b, 'after A died');
  await renewedThrough(b, 'and again');
  t.match(agentLog, `API server ${a.url} unreachable, switching to ${b.url}`, 'the agent said where it went');
  // A killed server leaves default/kubernetes when its lease there runs out, and then the list.
  await eventually(() => saved()?.servers.join() === b.url, { what: 'A to leave the saved list', explain: () => JSON.stringify(saved()) });

  // A pod bound to the node through B: the agent watches pods there now, and reports it there.
  const overrides = JSON.stringify({ spec: { nodeName: NODE } });
  await b.k('run', 'after-failover', '--image=registry.invalid/app:1', `--overrides=${overrides}`);
  await eventually(async () => (await b.k('get', 'pod', 'after-failover', '-o', 'jsonpath={.status.phase}')) === 'Running', {
    what: 'the pod bound through B to run on the agent',
  });
  t.equal(await readyOf(b), 'True', 'the node is Ready');

  // Restarted while its --server is still down, the agent finds B in the list it saved.
  const stopped = new Promise((resolve) => agent.once('exit', resolve));
  agent.kill('SIGTERM');
  await stopped;
  agentLog = '';
  await startAgent();
  await renewedThrough(b, 'after the agent restarted');
  t.equal(await readyOf(b), 'True', 'the node is still Ready');
});

const readyOf = (c: Cluster) => c.k('get', 'node', NODE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');

/** Waits for the node's Lease, read through `c`, to be renewed past the time it shows now. */
async function renewedThrough(c: Cluster, when: string): Promise<void> {
  const renewTime = () => c.k('get', 'lease', '-n', 'kube-node-lease', NODE, '-o', 'jsonpath={.spec.renewTime}');
  const before = await renewTime();
  await eventually(async () => (await renewTime()) !== before, { what: `the node's Lease to be renewed ${when}` });
}
