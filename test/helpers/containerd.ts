// A real containerd for tests, run by the agent's own supervisor with everything (root, state,
// socket, CNI config) under a throwaway folder, and gone with the test.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { ContainerdSupervisor } from '../../src/agent/containerd.js';
import { writeCniConfig } from '../../src/agent/cni.js';
import type { CriClient } from '../../src/cri/client.js';
import type { Registries } from '../../src/agent/registries.js';

export interface Containerd {
  socket: string;
  dir: string;
  /** The pod subnet of the CNI bridge network, when started with one. */
  subnet?: string;
  supervisor: ContainerdSupervisor;
  cri: CriClient;
  stop(): Promise<void>;
}

/** A containerd; with `network`, a CNI bridge network (its own bridge and /24) for pod sandboxes. */
export async function startContainerd(
  t: Test,
  opts: { network?: boolean; sandboxImage?: string; registries?: Registries } = {},
): Promise<Containerd> {
  try {
    execFileSync('containerd', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('containerd is not installed (Debian package containerd; .ci/run installs it)');
  }
  // Short path: unix socket paths are limited to about 100 bytes.
  const dir = fs.mkdtempSync('/tmp/skc-');
  const cniConfDir = path.join(dir, 'cni');
  const id = path
    .basename(dir)
    .slice(-6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x');
  const n = parseInt(id, 36);
  const subnet = opts.network ? `10.${90 + (n % 60)}.${n % 250}.0/24` : undefined;
  const supervisor = new ContainerdSupervisor(
    {
      root: path.join(dir, 'root'),
      state: path.join(dir, 'state'),
      socket: path.join(dir, 'c.sock'),
      cniBinDir: '/usr/lib/cni',
      cniConfDir,
      pauseImage: opts.sandboxImage ?? 'skiff.local/pause:test',
      registries: opts.registries,
    },
    path.join(dir, 'containerd.log'),
  );
  t.teardown(async () => {
    await supervisor.stop();
    // The bridge outlives containerd; take it down with the test.
    if (opts.network) {
      try {
        execFileSync('ip', ['link', 'delete', `sk${id}`], { stdio: 'ignore' });
      } catch {
        // never created
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await supervisor.start();
  // The agent's own network config, on a bridge and range of the test's own, not masqueraded.
  if (opts.network)
    writeCniConfig(cniConfDir, {
      podCIDR: subnet!,
      bridge: `sk${id}`,
      name: `skiff-test-${id}`,
      ipamDataDir: `${dir}/ipam`,
      ipMasq: false,
    });
  return { socket: supervisor.socket, dir, subnet, supervisor, cri: supervisor.cri, stop: () => supervisor.stop() };
}
