// Starting a real node: containerd (the one given by --container-runtime-endpoint, or our own,
// supervised), the air-gap images from <data-dir>/agent/images, the pause image, then the kubelet.
// `skiff agent` runs it against a remote server; `skiff server` runs it in-process.
import path from 'node:path';
import type { ApiClient } from '../client/rest-client.js';
import { CriClient } from '../cri/client.js';
import { log } from '../log.js';
import { containerdPaths, ContainerdSupervisor, importImages, readRegistries } from './containerd.js';
import { Kubelet } from './kubelet.js';
import { startKubeletServer } from './kubelet-server.js';
import { defaultNodeIP } from './node-facts.js';
import { ensurePauseImage } from './pause-image.js';

export const REGISTRIES_FILE = '/etc/skiff/registries.yaml';

export interface NodeAgentSettings {
  dataDir: string;
  nodeName: string;
  nodeIP?: string;
  /** An existing containerd's socket; without it the agent runs its own. */
  containerRuntimeEndpoint?: string;
  pauseImage: string;
  cniBridge?: string;
  /** Where the API server reaches the agent (the kubelet port). */
  kubeletPort: number;
}

export interface NodeAgent {
  kubelet: Kubelet;
  cri: CriClient;
  /** Stops the agent and its containerd; containers keep running, to be adopted by the next start. */
  stop(): Promise<void>;
}

/** `clientCaPem`: the CA of the API server's client certificate, the only caller the agent's port accepts. */
export async function startNodeAgent(api: ApiClient, s: NodeAgentSettings, clientCaPem: string): Promise<NodeAgent> {
  const paths = containerdPaths(s.dataDir);
  let supervisor: ContainerdSupervisor | undefined;
  let cri: CriClient;
  let socket: string;
  if (s.containerRuntimeEndpoint) {
    cri = new CriClient(s.containerRuntimeEndpoint);
    socket = s.containerRuntimeEndpoint.replace(/^unix:\/\//, '');
  } else {
    supervisor = new ContainerdSupervisor({ ...paths, pauseImage: s.pauseImage, mirrors: readRegistries(REGISTRIES_FILE) }, path.join(s.dataDir, 'agent', 'containerd', 'containerd.log'));
    await supervisor.start();
    cri = supervisor.cri;
    socket = supervisor.socket;
  }
  const imported = await importImages(socket, path.join(s.dataDir, 'agent', 'images'));
  if (imported.length) log.info({ images: imported }, 'imported images');
  await ensurePauseImage(cri, socket, s.pauseImage);
  const nodeIP = s.nodeIP ?? defaultNodeIP();
  const kubelet = new Kubelet(api, { nodeName: s.nodeName, nodeIP, cri, dataDir: s.dataDir, cniConfDir: paths.cniConfDir, cniBridge: s.cniBridge, kubeletPort: s.kubeletPort });
  const server = await startKubeletServer(kubelet, { port: s.kubeletPort, nodeName: s.nodeName, nodeIP, clientCaPem });
  await kubelet.start();
  return {
    kubelet,
    cri,
    async stop() {
      kubelet.stop();
      await server.close();
      if (supervisor) await supervisor.stop();
      else cri.close();
    },
  };
}
