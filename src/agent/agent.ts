// `skiff agent`: a node that joins a server. It joins with the token (see join.ts), retrying with
// backoff while the server is unreachable or refuses it, then runs pods on containerd (node-agent.ts);
// `--hollow` runs a hollow node instead (no containers), for tests and benchmarks.
import type { Settings } from '../cli/config.js';
import { UsageError } from '../cli/values.js';
import { ApiClient } from '../client/rest-client.js';
import { sleep } from '../client/sleep.js';
import { httpsTransport } from '../client/transport.js';
import { CLUSTER_CONFIG_PATH, type ClusterConfig } from '../k8s/cluster-config.js';
import { forbiddenNodeLabels } from '../k8s/nodes.js';
import { log } from '../log.js';
import { HollowNode } from './hollow-node.js';
import { CertificateRotation } from './certificate-rotation.js';
import { JoinError, joinServer, type Joined } from './join.js';
import { startNodeAgent, type NodeAgentSettings } from './node-agent.js';
import { kubeletArgs } from './kubelet-args.js';
import { parseNodeLabels, parseNodeTaints } from './node-registration.js';
import { readRegistries } from './registries.js';
import { checkResolvConf } from './resolv-conf.js';

const MAX_BACKOFF_MS = 30_000;

async function joinWithRetry(
  server: string,
  token: string,
  nodeName: string,
  dataDir: string,
  signal: AbortSignal,
): Promise<Joined | undefined> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      return await joinServer(server, token, nodeName, dataDir, signal);
    } catch (err) {
      if (!(err instanceof JoinError)) throw err;
      const wait = Math.min(1000 * 2 ** attempt, MAX_BACKOFF_MS);
      log.warn({ server, retryInMs: wait }, `cannot join: ${err.message}`);
      await sleep(wait, signal);
    }
  }
  return undefined;
}

export async function runAgent(settings: Settings): Promise<void> {
  const server = settings.server as string | undefined;
  const token = settings.token as string | undefined;
  if (server === undefined) throw new UsageError('skiff agent needs --server (or SKIFF_SERVER)');
  if (token === undefined) throw new UsageError('skiff agent needs --token (or SKIFF_TOKEN)');
  const nodeName = settings['node-name'] as string;
  // Bad node settings (labels, registries file, ...) are said before joining, not after.
  const nodeSettings = settings.hollow ? undefined : nodeAgentSettings(settings);
  const restricted = forbiddenNodeLabels(Object.keys(nodeSettings?.labels ?? {}));
  if (restricted.length)
    throw new UsageError(
      `--node-label ${restricted.join(', ')}: a node may not set these labels on itself (NodeRestriction allows the kubelet's own ` +
        `under kubernetes.io and k8s.io, and none under node-restriction.kubernetes.io); set them with kubectl label node ${nodeName}`,
    );
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    log.info({ signal }, 'skiff agent stopping');
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const dataDir = settings['data-dir'] as string;
  const joined = await joinWithRetry(server, token, nodeName, dataDir, stop.signal);
  if (!joined) return;
  const api = new ApiClient(httpsTransport(joined.target));
  // The node's client certificate is renewed through the API before it expires.
  const rotation = new CertificateRotation(api, joined.target, { nodeName, dataDir }).start();
  let stopNode: () => unknown;
  if (settings.hollow) {
    const node = new HollowNode(api, { name: nodeName });
    await node.start();
    stopNode = () => node.stop();
  } else {
    // The network every node follows is the server's to decide, as K3s agents read it from theirs.
    const cluster = await api.getJson<ClusterConfig>(CLUSTER_CONFIG_PATH);
    const node = await startNodeAgent(api, { ...nodeSettings!, cluster }, joined.clientCaPem);
    stopNode = () => node.stop();
  }
  log.info({ server, node: nodeName, hollow: !!settings.hollow }, 'skiff agent ready');
  await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  await rotation.stop();
  await stopNode();
}

/** The node settings `skiff agent` and `skiff server` share (the cluster's network comes from the server). */
export function nodeAgentSettings(settings: Settings): Omit<NodeAgentSettings, 'cluster'> {
  return {
    dataDir: settings['data-dir'] as string,
    nodeName: settings['node-name'] as string,
    nodeIP: settings['node-ip'] as string | undefined,
    externalIP: settings['node-external-ip'] as string | undefined,
    flannelIface: settings['flannel-iface'] as string | undefined,
    resolvConf: usage(() => checkResolvConf(settings['resolv-conf'] as string | undefined)),
    containerRuntimeEndpoint: settings['container-runtime-endpoint'] as string | undefined,
    pauseImage: settings['pause-image'] as string,
    cniBridge: settings['cni-bridge'] as string,
    kubelet: usage(() => kubeletArgs(settings['kubelet-arg'] as string[])),
    labels: usage(() => parseNodeLabels(settings['node-label'] as string[])),
    taints: usage(() => parseNodeTaints(settings['node-taint'] as string[])),
    registries: usage(() => readRegistries(settings['private-registry'] as string)),
  };
}

function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
