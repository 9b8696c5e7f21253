// A real containerd for tests: its own config, root, state dir and socket under a throwaway
// folder, started and killed with the test. (The agent's own supervision of containerd comes with
// the agent; this is the harness the CRI tests use.)
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { CriClient } from '../../src/cri/client.js';

export interface Containerd {
  socket: string;
  dir: string;
  /** The pod subnet of the CNI bridge network, when started with one. */
  subnet?: string;
  process: ChildProcess;
  cri: CriClient;
  stop(): Promise<void>;
}

/** A containerd; with `network`, a CNI bridge network (its own bridge and /24) for pod sandboxes. */
export async function startContainerd(t: Test, opts: { network?: boolean; sandboxImage?: string } = {}): Promise<Containerd> {
  try {
    execFileSync('containerd', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('containerd is not installed (Debian package containerd; .ci/run installs it)');
  }
  // Short path: unix socket paths are limited to about 100 bytes.
  const dir = fs.mkdtempSync('/tmp/skc-');
  const socket = path.join(dir, 'c.sock');
  fs.mkdirSync(path.join(dir, 'cni'));
  const id = path.basename(dir).slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x');
  const n = parseInt(id, 36);
  const subnet = opts.network ? `10.${90 + (n % 60)}.${n % 250}.0/24` : undefined;
  if (opts.network) {
    const conflist = {
      cniVersion: '0.4.0',
      name: `skiff-test-${id}`,
      plugins: [
        { type: 'bridge', bridge: `sk${id}`, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: `${dir}/ipam` } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    };
    fs.writeFileSync(path.join(dir, 'cni', '10-skiff.conflist'), JSON.stringify(conflist));
  }
  fs.writeFileSync(
    path.join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      '[grpc]',
      `  address = "${socket}"`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = "${opts.sandboxImage ?? 'skiff.local/pause:test'}"`,
      // This machine (like many confined hosts) may not lower oom_score_adj, which sandboxes ask for.
      '  restrict_oom_score_adj = true',
      '  [plugins."io.containerd.grpc.v1.cri".cni]',
      '    bin_dir = "/usr/lib/cni"',
      `    conf_dir = "${dir}/cni"`,
    ].join('\n') + '\n',
  );
  const child = spawn('containerd', ['--config', path.join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
  const cri = new CriClient(socket, { timeoutMs: 5000 });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  };
  t.teardown(async () => {
    cri.close();
    await stop();
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
  for (let i = 0; ; i++) {
    try {
      await cri.version();
      break;
    } catch (err) {
      if (i > 100 || child.exitCode !== null) throw new Error(`containerd did not come up: ${(err as Error).message}\n${log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { socket, dir, subnet, process: child, cri, stop };
}
