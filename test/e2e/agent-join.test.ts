import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { podWhen } from '../helpers/pods.js';
import { spawnTs, waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

const agent = (t: Test, server: string, token: string, node: string) => {
  const child = spawnTs('src/cli/main.ts', [
    'agent',
    '--hollow',
    '--server',
    server,
    '--token',
    token,
    '--node-name',
    node,
    '--data-dir',
    tempDir(t),
    '--config',
    '/dev/null',
  ]);
  t.teardown(() => child.kill('SIGKILL'));
  return child;
};

t.test('skiff agent --hollow joins with the token and runs pods', async (t) => {
  const c = await startCluster(t);
  const server = `https://127.0.0.1:${c.port}`;
  const token = fs.readFileSync(path.join(c.dataDir, 'server', 'token'), 'utf8').trim();
  t.match(token, /^K10[0-9a-f]{64}::server:[0-9a-f]+$/);

  const good = agent(t, server, token, 'joined');
  await waitForLine(good, /skiff agent ready/);
  t.match(await c.k('get', 'node', 'joined'), /^joined\s+Ready\s+/m);
  // The node acts with its own certificate: system:node:joined in system:nodes.
  t.match(await c.k('get', 'node', 'joined', '-o', 'jsonpath={.metadata.managedFields[*].manager}'), /hollow-node-joined/);
  await c.k('run', 'p', '--image=busybox');
  const p = await podWhen(c, 'p', (p) => p.spec.nodeName === 'joined' && p.status?.phase === 'Running');
  t.equal(`${p.spec.nodeName} ${p.status.phase}`, 'joined Running');

  // A wrong secret and a token for another cluster's CA: one clear line each, retried, no crash.
  const wrong = agent(t, server, 'not-the-secret', 'intruder');
  let wrongLog = '';
  wrong.stderr!.on('data', (d: Buffer) => (wrongLog += d));
  wrong.stdout!.on('data', (d: Buffer) => (wrongLog += d));
  t.match(await waitForLine(wrong, /cannot join/), /cannot join: https:\/\/127\.0\.0\.1:\d+ refused the join token/);
  const otherCa = agent(t, server, token.replace(/^K10[0-9a-f]{64}/, `K10${'0'.repeat(64)}`), 'intruder2');
  t.match(
    await waitForLine(otherCa, /cannot join/),
    /the CA of https:\/\/127\.0\.0\.1:\d+ does not match the hash in the token: refusing to send it the secret/,
  );
  // Its whole output is kept, so a retry logged while the test did other things is not missed.
  t.ok(await eventually(async () => wrongLog.includes('"retryInMs":2000'), { timeout: 20_000 }), 'the agent keeps retrying with backoff');
  t.equal(wrong.exitCode, null, 'and keeps running');
  t.equal((await c.kubectl(['get', 'node', 'intruder'])).code, 1, 'no node was registered without the secret');
});
