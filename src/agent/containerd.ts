// The containerd an agent runs for itself, as K3s does: a generated config (CRI plugin, sandbox
// image from --pause-image, CNI dirs, overlayfs, registries from registries.yaml, see registry-hosts.ts),
// its own root under the data dir and its state and socket under /run (tmpfs: no SD card writes),
// supervised: restarted with backoff if it dies, and dying with the agent however the agent dies
// (SIGKILL, the OOM killer), so that a restarted agent never finds a containerd of its own still
// running; one left by some other way (an older agent) is stopped before ours starts, so never two
// run on one root. The containers outlive both in their shims, and the new containerd takes them
// over. Image tarballs in <data-dir>/agent/images are
// imported at start (air-gapped installs), with containerd's own `ctr`.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CriClient } from '../cri/client.js';
import { sleep } from '../client/sleep.js';
import { diesWithParent, findProcesses, stopProcess, Supervisor } from '../k8s/supervisor.js';
import { log } from '../log.js';
import { DEFAULT_PAUSE_IMAGE } from './config.js';
import { noRegistries, type Registries } from './registries.js';
import { criRegistryToml, writeHostsDir } from './registry-hosts.js';

// Skiff's own sandbox image is the default of --pause-image, so it lives with the agent's config,
// which the command line reads without loading containerd's client.
export { DEFAULT_PAUSE_IMAGE };

export interface ContainerdPaths {
  root: string;
  state: string;
  socket: string;
  cniBinDir: string;
  cniConfDir: string;
}

export interface ContainerdConfigOptions extends ContainerdPaths {
  pauseImage?: string;
  /** K3s's registries.yaml: mirrors, auth and TLS. */
  registries?: Registries;
}

/** containerd's `config_path`: one <host>/hosts.toml per registry, beside the config. */
export const hostsDir = (o: ContainerdPaths) => path.join(o.root, 'certs.d');

/** The data dir of a system install, whose containerd keeps its state on tmpfs under /run/skiff. */
const SYSTEM_DATA_DIR = '/var/lib/skiff';

/** Where an agent's containerd lives, given its data dir (state on tmpfs for a system install). */
export function containerdPaths(
  dataDir: string,
  runDir = process.getuid?.() === 0 && path.resolve(dataDir) === SYSTEM_DATA_DIR ? '/run/skiff' : path.join(dataDir, 'run'),
): ContainerdPaths {
  return {
    root: path.join(dataDir, 'agent', 'containerd'),
    state: path.join(runDir, 'containerd'),
    socket: path.join(runDir, 'containerd', 'containerd.sock'),
    cniBinDir: '/usr/lib/cni',
    cniConfDir: path.join(dataDir, 'agent', 'etc', 'cni', 'net.d'),
  };
}

const quote = (s: string) => JSON.stringify(s);

export function containerdConfig(o: ContainerdConfigOptions): string {
  const lines = [
    'version = 2',
    `root = ${quote(o.root)}`,
    `state = ${quote(o.state)}`,
    '[grpc]',
    `  address = ${quote(o.socket)}`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = ${quote(o.pauseImage ?? DEFAULT_PAUSE_IMAGE)}`,
    // Sandboxes ask for oom_score_adj -998, which confined hosts refuse; clamp to containerd's own.
    '  restrict_oom_score_adj = true',
    '  [plugins."io.containerd.grpc.v1.cri".containerd]',
    '    snapshotter = "overlayfs"',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = ${quote(o.cniBinDir)}`,
    `    conf_dir = ${quote(o.cniConfDir)}`,
  ];
  lines.push(...criRegistryToml(o.registries ?? noRegistries(), hostsDir(o)));
  return `${lines.join('\n')}\n`;
}

/** Imports every *.tar in `dir` into containerd's Kubernetes namespace; answers the files imported. */
export async function importImages(socket: string, dir: string): Promise<string[]> {
  if (!fs.existsSync(dir)) return [];
  const tarballs = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.tar'))
    .sort();
  for (const file of tarballs) await promisify(execFile)('ctr', ['-a', socket, '-n', 'k8s.io', 'images', 'import', path.join(dir, file)]);
  return tarballs;
}

/** A containerd on our config that is not ours (a crashed agent's, still shutting down, or one without setpriv): stopped. */
async function stopLeftovers(configFile: string): Promise<void> {
  const leftovers = findProcesses((argv) => path.basename(argv[0]!) === 'containerd' && argv.includes(configFile));
  for (const pid of leftovers) {
    log.warn({ pid, config: configFile }, 'a containerd of an earlier run is still there: stopping it (its containers keep running)');
    await stopProcess(pid);
  }
}

/** Runs containerd with a config of ours and keeps it running until stopped. */
export class ContainerdSupervisor {
  private supervisor?: Supervisor;
  readonly cri: CriClient;

  constructor(
    private readonly configOptions: ContainerdConfigOptions,
    private readonly logFile: string,
  ) {
    this.cri = new CriClient(configOptions.socket, { timeoutMs: 5000 });
  }

  get socket(): string {
    return this.configOptions.socket;
  }

  /** Starts containerd and resolves once it answers CRI calls. */
  async start(): Promise<void> {
    for (const dir of [this.configOptions.root, this.configOptions.state, this.configOptions.cniConfDir, path.dirname(this.logFile)])
      fs.mkdirSync(dir, { recursive: true });
    const configFile = path.join(this.configOptions.root, 'config.toml');
    // Registry credentials may be in it: for root's eyes only.
    fs.writeFileSync(configFile, containerdConfig(this.configOptions), { mode: 0o600 });
    fs.chmodSync(configFile, 0o600);
    writeHostsDir(hostsDir(this.configOptions), this.configOptions.registries ?? noRegistries());
    await stopLeftovers(configFile);
    this.supervisor = new Supervisor({
      spawn: () => {
        const out = fs.openSync(this.logFile, 'a');
        const child = spawn(...diesWithParent('containerd', ['--config', configFile]), { stdio: ['ignore', out, out] });
        fs.closeSync(out);
        return child;
      },
      onError: (err) => log.error({ err: err.message }, 'cannot start containerd (is it installed?)'),
      onExit: (exit) => log.warn({ ...exit, log: this.logFile }, 'containerd exited; restarting'),
    });
    this.supervisor.start();
    for (let i = 0; ; i++) {
      try {
        await this.cri.version();
        return;
      } catch (err) {
        if (i >= 300) throw new Error(`containerd did not answer within 30 s (its log: ${this.logFile}): ${(err as Error).message}`);
        await sleep(100);
      }
    }
  }

  async stop(): Promise<void> {
    this.cri.close();
    await this.supervisor?.stop();
  }

  /** The process id (tests kill it to see it come back). */
  get pid(): number | undefined {
    return this.supervisor?.pid;
  }
}
