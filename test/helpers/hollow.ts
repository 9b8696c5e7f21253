// Hollow nodes for end-to-end tests, each in its own process so that killing one is losing a node.
import type { Test } from 'tap';
import type { HollowNodeOptions } from '../../src/agent/hollow-node.js';
import type { Cluster } from './cluster.js';
import { spawnTs, waitForLine } from './run.js';

export interface HollowHandle {
  name: string;
  kill(): void;
}

export async function startHollowNode(t: Test, cluster: Cluster, opts: HollowNodeOptions): Promise<HollowHandle> {
  const child = spawnTs('test/helpers/hollow-node-process.ts', [cluster.kubeconfig, JSON.stringify(opts)]);
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  t.teardown(kill);
  await waitForLine(child, new RegExp(`hollow node ${opts.name} ready`));
  return { name: opts.name, kill };
}

export async function startHollowNodes(
  t: Test,
  cluster: Cluster,
  names: string[],
  opts: Partial<HollowNodeOptions> = {},
): Promise<HollowHandle[]> {
  return Promise.all(names.map((name) => startHollowNode(t, cluster, { ...opts, name })));
}
