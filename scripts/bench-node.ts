// A real one-node cluster for benchmarks: a `skiff server` and a joined `skiff agent` (each its own
// process, from dist/), containerd run by the agent, on a bridge and ports of their own; stop()
// deletes the pods through the API, waits for their sandboxes to go, and removes everything (the
// node's nftables tables and VXLAN device too).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadKubeconfig } from '../src/client/kubeconfig.js';
import { ApiClient } from '../src/client/rest-client.js';
import { nodes, pods } from '../src/client/resources.js';
import { httpsTransport } from '../src/client/transport.js';
import { CriClient } from '../src/cri/client.js';
import { mountsUnder } from '../src/agent/pods/volumes.js';
import { removePolicyRules } from '../src/agent/network/netpol/index.js';
import { removeMasqueradeTable } from '../src/agent/network/podnet/masquerade.js';
import { removeVtep } from '../src/agent/network/podnet/vxlan-device.js';
import { removeServiceRules } from '../src/agent/network/services/nft.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process, in MiB. */
export const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** CPU time (user + system) a process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, inside parentheses): utime is the 12th, stime the 13th.
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface BenchNode {
  root: string;
  api: ApiClient;
  server: ChildProcess;
  agent: ChildProcess;
  agentDir: string;
  kubeletPort: number;
  cri: CriClient;
  /** The agent's containerd. */
  containerdPid(): number;
  /** Deletes the pods of the default namespace and waits for their sandboxes to go. */
  deletePods(): Promise<void>;
  stop(): Promise<void>;
}

/** Deletes the default namespace's pods and waits (up to a minute) until the node has no sandbox left. */
async function deletePods(api: ApiClient, cri: CriClient): Promise<void> {
  const podClient = api.resource(pods);
  for (const p of (await podClient.list('default').catch(() => ({ items: [] }))).items)
    await podClient.delete('default', p.metadata!.name!, { gracePeriodSeconds: 0 }).catch(() => {});
  for (let i = 0; i < 600 && (await cri.listPodSandbox().catch(() => [])).length > 0; i++) await sleep(100);
}

export interface BenchNodeOptions {
  serverArgs?: string[];
  agentArgs?: string[];
  /** Prepares the agent's data dir before it starts (e.g. images to import). */
  prepareAgent?: (agentDir: string) => void;
}

export async function startBenchNode(o: BenchNodeOptions = {}): Promise<BenchNode> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-node-'));
  const port = 21000 + Math.floor(Math.random() * 2000);
  const kubeletPort = port + 2500;
  const bridge = `skb${port.toString(36)}`;
  const kubeconfig = path.join(root, 'kubeconfig.yaml');
  const agentDir = path.join(root, 'agent');
  o.prepareAgent?.(agentDir);

  const children: ChildProcess[] = [];
  const start = (args: string[], ready: RegExp): Promise<ChildProcess> => {
    // BENCH_NODE_FLAGS: Node options for the server and agent, to profile them (--cpu-prof --cpu-prof-dir=...).
    const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...flags, 'dist/skiff.js', ...args, '--config', '/dev/null'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let log = '';
    return new Promise((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        log = (log + d).slice(-4000);
        if (ready.test(log)) resolve(child);
      });
      child.on('exit', (code) => reject(new Error(`${args[0]} exited ${code}: ${log}`)));
    });
  };
  const server = await start(
    [
      'server',
      '--data-dir',
      path.join(root, 'server'),
      '--https-listen-port',
      String(port),
      '--bind-address',
      '127.0.0.1',
      '--write-kubeconfig',
      kubeconfig,
      '--disable-agent',
      '--cluster-cidr',
      `10.${230 + (port % 20)}.0.0/16`,
      ...(o.serverArgs ?? []),
    ],
    /skiff server ready/,
  );
  const token = fs.readFileSync(path.join(root, 'server', 'server', 'token'), 'utf8').trim();
  const agent = await start(
    [
      'agent',
      '--server',
      `https://127.0.0.1:${port}`,
      '--token',
      token,
      '--node-name',
      'bench',
      '--data-dir',
      agentDir,
      '--cni-bridge',
      bridge,
      '--kubelet-arg',
      `port=${kubeletPort}`,
      ...(o.agentArgs ?? []),
    ],
    /skiff agent ready/,
  );
  const api = new ApiClient(httpsTransport(loadKubeconfig(kubeconfig)), 'bench');
  const cri = new CriClient(path.join(agentDir, 'run', 'containerd', 'containerd.sock'));
  for (;;) {
    const node = await api
      .resource(nodes)
      .get(undefined, 'bench')
      .catch(() => undefined);
    if (node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True') break;
    await sleep(200);
  }

  return {
    root,
    api,
    server,
    agent,
    agentDir,
    kubeletPort,
    cri,
    containerdPid: () =>
      Number(
        execFileSync('pgrep', ['-P', String(agent.pid), 'containerd'])
          .toString()
          .trim()
          .split('\n')[0],
      ),
    deletePods: () => deletePods(api, cri),
    async stop() {
      await deletePods(api, cri);
      cri.close();
      const exited = new Promise((r) => agent.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
      server.kill('SIGKILL');
      // The agent leaves its rules in place when it stops (for its restart): this node is gone.
      await Promise.all([removeServiceRules(), removePolicyRules(), removeMasqueradeTable(), removeVtep()]);
      try {
        execFileSync('ip', ['link', 'delete', bridge], { stdio: 'ignore' });
      } catch {
        // no bridge
      }
      // Secrets and tokens live on tmpfs mounts the agent made.
      for (const m of mountsUnder(root)) execFileSync('umount', ['-l', m]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
