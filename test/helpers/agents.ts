// A real `skiff agent` (containerd, pods) joined to a test cluster from a host of a network lab, as a
// second Pi would join from across the switch. It stops with the test, after which its node is
// drained through CRI and its leftovers removed (node-env.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { freePort, type Cluster } from './cluster.js';
import type { NetHost } from './netlab.js';
import { prepareNode, type NodeEnv } from './node-env.js';
import { repoRoot, waitForLine } from './run.js';
import { tempDir } from './tmp.js';

export interface Agent {
  name: string;
  host: NetHost;
  dataDir: string;
  node: NodeEnv;
  process: ChildProcess;
  /** Stops the agent (its containers keep running until the test drains the node). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the agent and starts it again on the same data dir, as a service restart would; resolves once it is ready. */
  restart(signal?: NodeJS.Signals): Promise<void>;
}

export async function startAgent(t: Test, cluster: Cluster, host: NetHost, opts: { name?: string; args?: string[] } = {}): Promise<Agent> {
  const name = opts.name ?? host.name;
  const dataDir = tempDir(t, 'skiff-agent-');
  const node = prepareNode(dataDir, await freePort(), host.enter);
  t.teardown(() => node.cleanup());
  t.teardown(() => node.drain());
  const token = fs.readFileSync(path.join(cluster.dataDir, 'server', 'token'), 'utf8').trim();
  const args = [
    ...['agent', '--server', cluster.url, '--token', token, '--node-name', name, '--node-ip', host.ip],
    ...['--data-dir', dataDir, '--config', '/dev/null', ...node.args, ...(opts.args ?? [])],
  ];
  const [command, ...prefix] = [...host.enter, process.execPath];
  let stopping = false;
  const launch = () => {
    stopping = false;
    const child = spawn(command!, [...prefix, '--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    child.on('exit', (code, signal) => {
      if (!stopping && (code !== 0 || signal)) t.comment(`skiff agent ${name} exited ${code} ${signal ?? ''}: ${log.slice(-3000)}`);
    });
    return child;
  };
  const agent: Agent = {
    name,
    host,
    dataDir,
    node,
    process: launch(),
    async stop(signal = 'SIGTERM') {
      const child = agent.process;
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
    async restart(signal = 'SIGTERM') {
      await agent.stop(signal);
      agent.process = launch();
      await waitForLine(agent.process, /skiff agent ready/);
    },
  };
  // SIGTERM lets the agent stop its containerd.
  t.teardown(() => agent.stop());
  await waitForLine(agent.process, /skiff agent ready/);
  return agent;
}
