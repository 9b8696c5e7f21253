// An agent that dies outright (SIGKILL) takes its containerd with it, and a containerd left on the
// agent's config some other way is stopped before the next one starts: never two on one root, and
// the next start is not stuck on what the dead one left (its socket). Real containerd, root (test/cri).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { findProcesses, stopProcess } from '../../src/k8s/supervisor.js';
import { eventually } from '../helpers/eventually.js';
import { spawnTs, waitForLine } from '../helpers/run.js';

t.test('a SIGKILLed supervisor takes containerd along; a leftover containerd is stopped before a new one starts', async (t) => {
  const dir = fs.mkdtempSync('/tmp/skc-');
  const config = path.join(dir, 'root', 'config.toml');
  const containerds = () => findProcesses((argv) => path.basename(argv[0]!) === 'containerd' && argv.includes(config));
  t.teardown(async () => {
    for (const pid of containerds()) await stopProcess(pid);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const startAgent = async () => {
    const agent = spawnTs('test/helpers/containerd-process.ts', [dir]);
    t.teardown(() => agent.kill('SIGKILL'));
    const pid = Number((await waitForLine(agent, /containerd ready/)).split(' ').at(-1));
    return { agent, pid };
  };

  const first = await startAgent();
  t.same(containerds(), [first.pid], 'one containerd, the supervisor child');
  first.agent.kill('SIGKILL');
  await eventually(() => containerds().length === 0, { what: 'containerd to die with the agent', timeout: 20_000 });
  t.pass('containerd died with its SIGKILLed agent');

  // Both killed at once (the OOM killer taking the agent and its containerd): a stale socket is left.
  const crashed = await startAgent();
  process.kill(crashed.pid, 'SIGKILL');
  crashed.agent.kill('SIGKILL');
  await eventually(() => containerds().length === 0, { what: 'containerd to be gone' });
  t.ok(fs.existsSync(path.join(dir, 'c.sock')), 'a stale socket is left behind');

  const second = await startAgent();
  t.same(containerds(), [second.pid], 'the next agent runs one containerd, the stale socket no obstacle');
  second.agent.kill('SIGTERM');
  await eventually(() => containerds().length === 0, { what: 'containerd to stop with the agent' });

  // A containerd on the agent's config that is not the agent's child (an older agent's, or one started by hand).
  const leftover = spawn('containerd', ['--config', config], { stdio: 'ignore', detached: true });
  leftover.unref();
  await eventually(() => fs.existsSync(path.join(dir, 'c.sock')), { what: 'the leftover containerd to listen' });
  const third = await startAgent();
  t.not(third.pid, leftover.pid);
  t.same(containerds(), [third.pid], 'the leftover was stopped: one containerd');
});
