// A real `skiff server` (from source) on a free loopback port with a throwaway data dir, or on a
// host of a network lab (netlab.ts) for multi-node tests, and a kubectl wired to it through the
// kubeconfig the server writes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Test } from 'tap';
import { repoRoot, waitForLine } from './run.js';
import { tempDir } from './tmp.js';
import { prepareNode, type NodeEnv } from './node-env.js';
import type { NetHost } from './netlab.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Cluster {
  dataDir: string;
  kubeconfig: string;
  port: number;
  process: ChildProcess;
  kubectl(args: string[], opts?: { input?: string; env?: Record<string, string>; bin?: string }): Promise<KubectlResult>;
  /** kubectl that must succeed; returns stdout. */
  k(...args: string[]): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the server (SIGKILL by default) and starts it again on the same data dir. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  /** The server's recent stderr (its log lines), for tests that look for what it logged. */
  log(): string;
  /** With `agent`: the node the server runs. */
  node?: NodeEnv;
  /** With `host`: where it runs, and the URL agents join. */
  host?: NetHost;
  url: string;
}

export interface ClusterOptions {
  /** Run the server's own agent (real containerd, a pod range and bridge of the test's own). */
  agent?: boolean;
  /** Run inside this lab host's network namespace, listening on its address (6443) as its node IP. */
  host?: NetHost;
}

/**
 * What `kubectl -v=6` writes to stderr once the server answered its watch request. Why: a test that
 * runs `kubectl get -w` waits for this line, not for time; the watch goes on from kubectl's list.
 */
export const KUBECTL_WATCHING = /\bGET \S+[?&]watch=true\S* 200 OK/;

/** Flags for tests of the API server alone: stored objects stay exactly as the client wrote them. */
export const API_ONLY = ['--disable-controller-manager', '--disable-scheduler'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function startCluster(t: Test, extraArgs: string[] = [], opts: ClusterOptions = {}): Promise<Cluster> {
  const root = tempDir(t, 'skiff-e2e-');
  const dataDir = path.join(root, 'data');
  const kubeconfig = path.join(root, 'kubeconfig.yaml');
  const cacheDir = path.join(root, 'kube-cache');
  const host = opts.host;
  const port = host ? 6443 : await freePort();
  const node = opts.agent ? prepareNode(dataDir, await freePort(), host?.enter) : undefined;
  // Teardowns run last-registered first: stop the server, drain its node, then clean up after it.
  if (node) {
    t.teardown(() => node.cleanup());
    t.teardown(() => node.drain());
  }
  const args = [
    'server',
    '--data-dir',
    dataDir,
    '--https-listen-port',
    String(port),
    '--bind-address',
    host?.ip ?? '127.0.0.1',
    ...(host && opts.agent ? ['--node-ip', host.ip] : []),
    '--write-kubeconfig',
    kubeconfig,
    '--config',
    '/dev/null',
    ...(node ? [...node.args, ...node.serverArgs] : ['--disable-agent']),
    ...extraArgs,
  ];

  let stopping = false;
  let serverLog = '';
  const launch = async (): Promise<ChildProcess> => {
    stopping = false;
    const [command, ...prefix] = [...(host?.enter ?? []), process.execPath];
    const child = spawn(command!, [...prefix, '--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-20_000);
      serverLog = (serverLog + d.toString()).slice(-200_000);
    });
    child.on('exit', (code, signal) => {
      // Any exit the test did not ask for is worth its log.
      if (!stopping && (code !== 0 || signal)) t.comment(`skiff server exited ${code} ${signal ?? ''}: ${log.slice(-3000)}`);
    });
    await waitForLine(child, /skiff server ready/);
    return child;
  };

  const cluster: Cluster = {
    dataDir,
    kubeconfig,
    port,
    host,
    url: `https://${host?.ip ?? '127.0.0.1'}:${port}`,
    process: await launch(),
    log: () => serverLog,
    kubectl(kargs, opts = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          opts.bin ?? 'kubectl',
          ['--kubeconfig', kubeconfig, ...kargs],
          {
            env: { PATH: process.env.PATH, HOME: root, KUBECACHEDIR: cacheDir, ...opts.env },
            maxBuffer: 64 * 1024 * 1024,
            timeout: 120_000,
          },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
        if (opts.input !== undefined) child.stdin!.end(opts.input);
      });
    },
    async k(...kargs) {
      const r = await cluster.kubectl(kargs);
      if (r.code !== 0) throw new Error(`kubectl ${kargs.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    },
    async stop(signal = 'SIGTERM') {
      const child = cluster.process;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      stopping = true;
      child.kill(signal);
      await exited;
    },
    async restart(signal = 'SIGKILL') {
      await cluster.stop(signal);
      cluster.process = await launch();
    },
  };
  // An agent's containerd must stop with it: SIGTERM lets the server stop it.
  t.teardown(() => cluster.stop(node ? 'SIGTERM' : 'SIGKILL'));
  cluster.node = node;
  fs.mkdirSync(cacheDir, { recursive: true });
  return cluster;
}
