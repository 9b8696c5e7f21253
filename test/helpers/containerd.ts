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
  process: ChildProcess;
  cri: CriClient;
  stop(): Promise<void>;
}

export async function startContainerd(t: Test): Promise<Containerd> {
  try {
    execFileSync('containerd', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('containerd is not installed (Debian package containerd; .ci/run installs it)');
  }
  // Short path: unix socket paths are limited to about 100 bytes.
  const dir = fs.mkdtempSync('/tmp/skc-');
  const socket = path.join(dir, 'c.sock');
  fs.mkdirSync(path.join(dir, 'cni'));
  fs.writeFileSync(
    path.join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      '[grpc]',
      `  address = "${socket}"`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      '  sandbox_image = "skiff.local/pause:test"',
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
  return { socket, dir, process: child, cri, stop };
}
