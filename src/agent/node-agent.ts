// Starting a real node: containerd (the one given by --container-runtime-endpoint, or our own,
// supervised), the air-gap images from <data-dir>/agent/images, the pause image, then the kubelet.
// `skiff agent` runs it against a remote server; `skiff server` runs it in-process. When the server
// cannot be reached the node starts all the same (the kubelet runs its checkpoint's pods), and the
// parts that need the server (the network's loops, local storage) start once it answers.
import fs from 'node:fs';
import path from 'node:path';
import type { ApiClient } from '../client/rest-client.js';
import { CriClient } from '../cri/client.js';
import { log } from '../log.js';
import { sleep } from '../client/sleep.js';
import { containerdPaths, ContainerdSupervisor, importImages } from './containerd.js';
import { Kubelet } from './kubelet.js';
import type { KubeletArgs } from './kubelet-args.js';
import type { Taint } from 'kubernetes-types/core/v1.js';
import type { Writable } from '../client/resources.js';
import { startKubeletServer } from './kubelet-server.js';
import { firstHostIPv4 } from '../k8s/ipv4.js';
import { ensurePauseImage } from './pause-image.js';
import type { Registries } from './registries.js';
import type { ClusterConfig } from '../k8s/cluster-config.js';
import { startNodeNetwork } from './network/index.js';
import { startLocalPathNode } from './storage/local-path-node.js';
import { LOCAL_STORAGE } from '../k8s/local-path.js';
import { podNetworkCni } from './network/podnet/pod-network.js';
import { withRewrites } from './image-rewrite.js';
import { hostResolvConfPath } from './resolv-conf.js';

export interface NodeAgentSettings {
  dataDir: string;
  nodeName: string;
  nodeIP?: string;
  /** --node-external-ip */
  externalIP?: string;
  /** --flannel-iface */
  flannelIface?: string;
  /** --resolv-conf: the host's resolver settings (default: /etc/resolv.conf, or systemd-resolved's real list). */
  resolvConf?: string;
  /** The cluster's network, as the server decided it. */
  cluster: ClusterConfig;
  /** An existing containerd's socket; without it the agent runs its own. */
  containerRuntimeEndpoint?: string;
  pauseImage: string;
  cniBridge?: string;
  /** --kubelet-arg settings: port, log rotation. */
  kubelet: KubeletArgs;
  /** What the Node registers with (--node-label, --node-taint, a server's roles). */
  labels: Record<string, string>;
  taints: Writable<Taint>[];
  /** --private-registry, parsed: mirrors, auth and TLS for the containerd the agent runs. */
  registries?: Registries;
  /** --default-local-storage-path (default <data-dir>/storage). */
  localStoragePath?: string;
  /** --ingress-http-port and --ingress-https-port (default 80 and 443). */
  ingressPorts?: { http: number; https: number };
}

export interface NodeAgent {
  kubelet: Kubelet;
  cri: CriClient;
  /** Stops the agent and its containerd; containers keep running, to be adopted by the next start. */
  stop(): Promise<void>;
}

/** `clientCaPem`: the CA of the API server's client certificate, the only caller the agent's port accepts. */
const onPath = (command: string) => (process.env.PATH ?? '').split(':').some((dir) => dir && fs.existsSync(path.join(dir, command)));

/** What running our own containerd takes, checked first so that a missing piece is one clear line. */
function checkCanRunContainerd(cniBinDir: string): void {
  const instead = 'or run the server with --disable-agent, or give --container-runtime-endpoint';
  if (process.getuid?.() !== 0)
    throw new Error(`running pods needs root (containerd, mounts, pod networking): run skiff as root, ${instead}`);
  const missing = ['containerd', 'runc', 'ctr', 'setpriv'].filter((c) => !onPath(c));
  if (missing.length) {
    const names = missing.length > 1 ? `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}` : missing[0];
    throw new Error(`${names} not found on PATH: install Debian's containerd, runc and util-linux packages, ${instead}`);
  }
  if (!fs.existsSync(path.join(cniBinDir, 'bridge')))
    throw new Error(`the CNI plugins are not in ${cniBinDir}: install Debian's containernetworking-plugins, ${instead}`);
}

interface Part {
  stop(): Promise<void>;
}

const MAX_RETRY_MS = 30_000;

/**
 * A part of the node that needs the server: started once the API has answered (`answered` also
 * resolves when the agent stops), tried again with backoff while it fails; stop() does not wait for
 * a start that has not come.
 */
function whenReachable(
  what: string,
  answered: Promise<void>,
  start: () => Promise<Part>,
): { started: Promise<void>; stop(): Promise<void> } {
  const abort = new AbortController();
  let part: Part | undefined;
  const started = (async () => {
    await answered;
    for (let attempt = 0; !abort.signal.aborted; attempt++) {
      try {
        part = await start();
        if (abort.signal.aborted) await part.stop();
        return;
      } catch (err) {
        log.warn({ err: (err as Error).message }, `cannot start ${what} yet`);
        await sleep(Math.min(1000 * 2 ** attempt, MAX_RETRY_MS), abort.signal);
      }
    }
  })();
  return {
    started,
    async stop() {
      abort.abort();
      await part?.stop();
    },
  };
}

export async function startNodeAgent(api: ApiClient, s: NodeAgentSettings, clientCaPem: string): Promise<NodeAgent> {
  const paths = containerdPaths(s.dataDir);
  let supervisor: ContainerdSupervisor | undefined;
  let cri: CriClient;
  let socket: string;
  if (s.containerRuntimeEndpoint) {
    cri = new CriClient(s.containerRuntimeEndpoint);
    socket = s.containerRuntimeEndpoint.replace(/^unix:\/\//, '');
  } else {
    checkCanRunContainerd(paths.cniBinDir);
    supervisor = new ContainerdSupervisor(
      { ...paths, pauseImage: s.pauseImage, registries: s.registries },
      path.join(s.dataDir, 'agent', 'containerd', 'containerd.log'),
    );
    await supervisor.start();
    cri = supervisor.cri;
    socket = supervisor.socket;
  }
  const imported = await importImages(socket, path.join(s.dataDir, 'agent', 'images'));
  if (imported.length) log.info({ images: imported }, 'imported images');
  await ensurePauseImage(cri, socket, s.pauseImage);
  const nodeIP = s.nodeIP ?? firstHostIPv4();
  const resolvConf = hostResolvConfPath(s.resolvConf);
  // registries.yaml is for the containerd we run (as in K3s); its rewrites happen around our pulls.
  const podCri = supervisor && s.registries ? withRewrites(cri, socket, s.registries) : cri;
  // The pod network backend decides the CNI config's masquerading and MTU (none: the user's CNI writes one).
  const cniNetwork = (await podNetworkCni({ nodeIP, flannelIface: s.flannelIface, cluster: s.cluster })) ?? false;
  const kubelet = new Kubelet(api, {
    nodeName: s.nodeName,
    nodeIP,
    externalIP: s.externalIP,
    cri: podCri,
    cniNetwork,
    dataDir: s.dataDir,
    cniConfDir: paths.cniConfDir,
    cniBridge: s.cniBridge,
    kubeletArgs: s.kubelet,
    labels: s.labels,
    taints: s.taints,
    dns: { clusterDNS: s.cluster.clusterDNS, clusterDomain: s.cluster.clusterDomain, resolvConf },
  });
  const server = await startKubeletServer(kubelet, { port: s.kubelet.port, nodeName: s.nodeName, nodeIP, clientCaPem });
  const reachable = await kubelet.start();
  // With the server away the agent is ready without these; they start once it answers.
  const answered = kubelet.apiAnswered();
  const network = whenReachable('the node network', answered, () =>
    startNodeNetwork(api, {
      nodeName: s.nodeName,
      nodeIP,
      externalIP: s.externalIP,
      flannelIface: s.flannelIface,
      resolvConf,
      dataDir: s.dataDir,
      cluster: s.cluster,
      ingressPorts: s.ingressPorts,
    }),
  );
  const storagePath = s.localStoragePath ?? path.join(s.dataDir, 'storage');
  const storage = whenReachable('local storage', answered, () =>
    startLocalPathNode(api, s.nodeName, storagePath, !s.cluster.disabled.includes(LOCAL_STORAGE)),
  );
  if (reachable) await Promise.all([network.started, storage.started]);
  return {
    kubelet,
    cri,
    async stop() {
      await storage.stop();
      await network.stop();
      await kubelet.stop();
      await server.close();
      if (supervisor) await supervisor.stop();
      else cri.close();
    },
  };
}
