// What a real node needs in a test on a shared machine: a pod range, bridge and agent port of its
// own, the locally built busybox image in <data-dir>/agent/images, and a clean exit (sandboxes
// removed through CRI while containerd still runs; then the bridge and any tmpfs mounts).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CriClient } from '../../src/cri/client.js';
import { buildBusyboxImage } from './images.js';

export const BUSYBOX = 'skiff.local/busybox:1';

export interface NodeEnv {
  /** Flags for `skiff server` or `skiff agent`. */
  args: string[];
  /** Flags for the server the node belongs to (a pod range of the test's own). */
  serverArgs: string[];
  /** The node's containerd, as the agent runs it. */
  socket: string;
  /** Removes every sandbox (and so every container) through CRI. */
  drain(): Promise<void>;
  /** After the agent stopped: the bridge and leftover mounts. */
  cleanup(): void;
}

export function prepareNode(dataDir: string, uniq: number): NodeEnv {
  buildBusyboxImage(path.join(dataDir, 'agent', 'images'), BUSYBOX);
  const bridge = `skn${uniq.toString(36)}`.slice(0, 15);
  const socket = path.join(dataDir, 'run', 'containerd', 'containerd.sock');
  return {
    args: ['--cni-bridge', bridge, '--kubelet-arg', `port=${uniq}`],
    serverArgs: ['--cluster-cidr', `10.${160 + (uniq % 60)}.0.0/16`],
    socket,
    async drain() {
      if (!fs.existsSync(socket)) return;
      const cri = new CriClient(socket, { timeoutMs: 5000 });
      try {
        for (const s of await cri.listPodSandbox()) {
          await cri.stopPodSandbox(s.id).catch(() => {});
          await cri.removePodSandbox(s.id).catch(() => {});
        }
      } catch {
        // containerd is gone already
      } finally {
        cri.close();
      }
    },
    cleanup() {
      try {
        execFileSync('ip', ['link', 'delete', bridge], { stdio: 'ignore' });
      } catch {
        // never created
      }
      const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dataDir + '/'));
      for (const m of mounts.reverse()) execFileSync('umount', ['-l', m]);
    },
  };
}
