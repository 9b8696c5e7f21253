// What a real node needs in a test on a shared machine: a pod range, bridge and agent port of its
// own, the locally built busybox image in <data-dir>/agent/images, and a clean exit. Containers
// outlive their agent (as they should), so once it has stopped, its containerd is started once
// more on its own to remove every sandbox through CRI (which also undoes their networking), and
// then the bridge and any tmpfs mounts go.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CriClient } from '../../src/cri/client.js';
import { mountsUnder } from '../../src/agent/pods/volumes.js';
import { diesWithParent } from '../../src/k8s/supervisor.js';
import { buildBusyboxImage } from './images.js';
import { eventually } from './eventually.js';

export const BUSYBOX = 'skiff.local/busybox:1';

export interface NodeEnv {
  /** Flags for `skiff server` or `skiff agent`. */
  args: string[];
  /** Flags for the server the node belongs to (a pod range of the test's own). */
  serverArgs: string[];
  /** The node's containerd, as the agent runs it. */
  socket: string;
  /** After the agent stopped: removes every sandbox (and so every container) through CRI. */
  drain(): Promise<void>;
  /** After the agent stopped: the bridge and leftover mounts. */
  cleanup(): void;
}

/** A second octet for 10.X.0.0/16 that no route on this machine uses yet (starting from `uniq`). */
function freeRange(uniq: number): number {
  const routes = execFileSync('ip', ['-4', 'route']).toString();
  for (let i = 0; i < 60; i++) {
    const x = 160 + ((uniq + i) % 60);
    if (!routes.includes(`10.${x}.`)) return x;
  }
  throw new Error('no free 10.160-219.x.x range for a test pod network');
}

/** A command and its arguments, run behind `enter` (a network namespace's nsenter) when given. */
function inNode(enter: string[], command: string, args: string[]): [string, string[]] {
  const [first, ...rest] = [...enter, command, ...args];
  return [first!, rest];
}

/** `enter`: the command prefix of the network namespace the node runs in (see netlab.ts), if any. */
export function prepareNode(dataDir: string, uniq: number, enter: string[] = []): NodeEnv {
  buildBusyboxImage(path.join(dataDir, 'agent', 'images'), BUSYBOX);
  const bridge = `skn${uniq.toString(36)}`.slice(0, 15);
  const socket = path.join(dataDir, 'run', 'containerd', 'containerd.sock');
  // Cluster DNS forwards what is not the cluster's to the upstream servers of --resolv-conf: in a test,
  // never the machine's own (nothing beyond loopback may be asked); a test that forwards gives its own.
  const resolvConf = path.join(dataDir, 'resolv.conf');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(resolvConf, 'nameserver 127.0.0.1\n');
  return {
    args: ['--cni-bridge', bridge, '--kubelet-arg', `port=${uniq}`, '--resolv-conf', resolvConf],
    // A node in the machine's own network namespace programs no Service or NetworkPolicy rules and
    // serves no cluster DNS or ingress: test clusters there share one kernel (and one 10.43.0.0/16,
    // 10.43.0.10:53 and the host's ports 80 and 443), and the rules would outlive them.
    serverArgs: [
      '--cluster-cidr',
      `10.${freeRange(uniq)}.0.0/16`,
      ...(enter.length ? [] : ['--disable-kube-proxy', '--disable-network-policy', '--disable', 'coredns', '--disable', 'ingress']),
    ],
    socket,
    async drain() {
      const config = path.join(dataDir, 'agent', 'containerd', 'config.toml');
      if (!fs.existsSync(config)) return;
      // In the node's own network namespace: removing a sandbox undoes its networking there.
      // Dies with the test process even when a timeout kills it midway.
      const containerd = spawn(...inNode(enter, ...diesWithParent('containerd', ['--config', config], 'KILL')), { stdio: 'ignore' });
      const exited = new Promise((r) => containerd.once('exit', r));
      const cri = new CriClient(socket, { timeoutMs: 5000 });
      try {
        await eventually(() => cri.version().then(() => true), {
          timeout: 10_000,
          what: `the node's containerd to come back to be drained (${config})`,
        });
        for (const s of await cri.listPodSandbox()) {
          await cri.stopPodSandbox(s.id).catch(() => {});
          await cri.removePodSandbox(s.id).catch(() => {});
        }
      } finally {
        cri.close();
        containerd.kill('SIGTERM');
        await exited;
      }
    },
    cleanup() {
      const quietly = (command: string, args: string[]) => {
        try {
          execFileSync(...inNode(enter, command, args), { stdio: 'ignore' });
        } catch {
          // never created, or already gone
        }
      };
      quietly('ip', ['link', 'delete', bridge]);
      // The pod network's device and rules outlive the agent, as they should; a lab host's go with its
      // namespace, a node in the machine's own namespace has them removed as uninstalling would (a
      // concurrent test's agent there, alone on its cluster, needs neither and puts them back).
      if (enter.length === 0) {
        quietly('ip', ['link', 'delete', 'flannel.1']);
        quietly('nft', ['delete', 'table', 'ip', 'skiff-podnet']);
      }
      for (const m of mountsUnder(dataDir)) execFileSync('umount', ['-l', m]);
    },
  };
}
