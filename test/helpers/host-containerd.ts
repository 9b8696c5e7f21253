// A containerd of the test's own that a node uses through --container-runtime-endpoint, as an agent
// uses a machine's existing containerd: started natively, inside a lab host's network namespace (so
// that pod networking lands beside the agent's), with its CNI config read from the agent's data dir
// and Skiff's pause image for this machine already in it. At the end every sandbox is removed
// through CRI, containerd stops and its mounts and folder go.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { containerdConfig, containerdPaths, importImages } from '../../src/agent/containerd.js';
import { writeOciImage } from '../../src/agent/oci-image.js';
import { pauseBinary } from '../../src/agent/pause-image.js';
import { mountsUnder } from '../../src/agent/pods/volumes.js';
import { CriClient } from '../../src/cri/client.js';
import { eventually } from './eventually.js';

export interface HostContainerd {
  /** Its folder: root, state and socket. */
  dir: string;
  socket: string;
  /** `unix://<socket>`, for --container-runtime-endpoint. */
  endpoint: string;
  cri: CriClient;
  /** Its sandbox image, for the agent's --pause-image. */
  pauseImage: string;
}

/** Skiff's pause image built for this machine, under a name of the test's own. */
const PAUSE_IMAGE = 'skiff.local/pause:host';

/** `enter`: the lab host's command prefix (netlab.ts); `agentDataDir`: the node whose CNI config it reads. */
export async function startHostContainerd(t: Test, enter: string[], agentDataDir: string): Promise<HostContainerd> {
  // Short path: unix socket paths are limited to about 100 bytes.
  const dir = fs.mkdtempSync('/tmp/skh-');
  const socket = path.join(dir, 'c.sock');
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(
    config,
    containerdConfig({
      root: path.join(dir, 'root'),
      state: path.join(dir, 'state'),
      socket,
      cniBinDir: '/usr/lib/cni',
      cniConfDir: containerdPaths(agentDataDir).cniConfDir,
      pauseImage: PAUSE_IMAGE,
    }),
  );
  const [command, ...args] = [...enter, 'containerd', '--config', config];
  const log = fs.openSync(path.join(dir, 'containerd.log'), 'a');
  const child = spawn(command!, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise((r) => child.once('exit', r));
  const cri = new CriClient(socket, { timeoutMs: 10_000 });
  t.teardown(async () => {
    try {
      for (const s of await cri.listPodSandbox().catch(() => [])) {
        await cri.stopPodSandbox(s.id).catch(() => {});
        await cri.removePodSandbox(s.id).catch(() => {});
      }
    } finally {
      cri.close();
      child.kill('SIGTERM');
      await exited;
      for (const m of mountsUnder(dir)) execFileSync('umount', ['-l', m]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  await eventually(() => cri.version().then(() => true), {
    timeout: 30_000,
    what: `containerd to answer on ${socket}`,
    explain: () => fs.readFileSync(path.join(dir, 'containerd.log'), 'utf8').slice(-3000),
  });
  // The sandbox image for this machine, as its own node would have imported it: an agent built for
  // another architecture would otherwise import Skiff's default one for its own, which this kernel
  // cannot run (the agent is given this one with --pause-image).
  const images = path.join(dir, 'images');
  writeOciImage(images, {
    name: PAUSE_IMAGE,
    entrypoint: ['/pause'],
    env: [],
    files: [{ path: 'pause', data: pauseBinary(), mode: 0o755 }],
  });
  await importImages(socket, images);
  return { dir, socket, endpoint: `unix://${socket}`, cri, pauseImage: PAUSE_IMAGE };
}
