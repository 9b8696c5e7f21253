// `skiff agent`: a node that joins a server. It joins with the token (see join.ts), retrying with
// backoff while the server is unreachable or refuses it, then runs pods on containerd (node-agent.ts);
// `--hollow` runs a hollow node instead (no containers), for tests and benchmarks. A node that has
// joined before starts without the server: its credentials, its server list and the cluster's
// settings are on its disk, and its pods in the kubelet's checkpoint.
import fs from 'node:fs';
import path from 'node:path';
import { ApiClient } from '../client/rest-client.js';
import { sleep } from '../client/sleep.js';
import { FailoverTransport } from '../client/failover-transport.js';
import { CLUSTER_CONFIG_PATH, type ClusterConfig } from '../k8s/cluster-config.js';
import { ConfigError } from '../k8s/config-error.js';
import { forbiddenNodeLabels } from '../k8s/nodes.js';
import { log } from '../log.js';
import { systemdNotifier } from '../sd-notify.js';
import { nodeAgentSettings, type AgentConfig } from './config.js';
import { HollowNode } from './hollow-node.js';
import { CertificateRotation } from './certificate-rotation.js';
import { agentFiles, JoinError, joinServer, type Joined, writeAtomic } from './join.js';
import { startNodeAgent } from './node-agent.js';
import { ServerList, serverListFile } from './server-list.js';
import { onAbort } from '../k8s/abort.js';

const MAX_BACKOFF_MS = 30_000;

/** Joins through the known servers in turn (the configured one first), with backoff. */
async function joinWithRetry(
  servers: readonly string[],
  token: string,
  nodeName: string,
  dataDir: string,
  signal: AbortSignal,
): Promise<Joined | undefined> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    const server = servers[attempt % servers.length]!;
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

/**
 * The cluster's settings from the server, kept in <data-dir>/agent/cluster-config.json (written when
 * they change) for a start while the server cannot be reached; without a kept copy, asked again with backoff.
 */
async function clusterConfig(api: ApiClient, dataDir: string, signal: AbortSignal): Promise<ClusterConfig | undefined> {
  const file = path.join(agentFiles(dataDir).dir, 'cluster-config.json');
  const kept = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const text = JSON.stringify(await api.getJson<ClusterConfig>(CLUSTER_CONFIG_PATH));
      if (text !== kept) await writeAtomic(file, text, 0o600);
      return JSON.parse(text) as ClusterConfig;
    } catch (err) {
      if (kept) {
        log.warn({ err: (err as Error).message }, 'cannot read the cluster settings from the server: using those kept from before');
        return JSON.parse(kept) as ClusterConfig;
      }
      const wait = Math.min(1000 * 2 ** attempt, MAX_BACKOFF_MS);
      log.warn({ err: (err as Error).message, retryInMs: wait }, 'cannot read the cluster settings from the server');
      await sleep(wait, signal);
    }
  }
  return undefined;
}

export async function runAgent(config: AgentConfig): Promise<void> {
  const { server, token, nodeName, dataDir } = config;
  // Bad node settings (labels, registries file, ...) are said before joining, not after.
  const nodeSettings = config.hollow ? undefined : nodeAgentSettings(config);
  const restricted = forbiddenNodeLabels(Object.keys(nodeSettings?.labels ?? {}));
  if (restricted.length)
    throw new ConfigError(
      `--node-label ${restricted.join(', ')}: a node may not set these labels on itself (NodeRestriction allows the kubelet's own ` +
        `under kubernetes.io and k8s.io, and none under node-restriction.kubernetes.io); set them with kubectl label node ${nodeName}`,
    );
  const notifyReady = systemdNotifier();
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    log.info({ signal }, 'skiff agent stopping');
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  // Every server of the cluster, kept current from default/kubernetes; requests fail over between them.
  const servers = new ServerList(server, serverListFile(dataDir));
  const joined = await joinWithRetry(servers.servers(), token, nodeName, dataDir, stop.signal);
  if (!joined) return;
  const transport = new FailoverTransport(joined.target, () => servers.servers());
  const api = new ApiClient(transport.request);
  servers.follow(api);
  // The node's client certificate is renewed through the API before it expires.
  const rotation = new CertificateRotation(api, joined.target, { nodeName, dataDir }).start();
  let stopNode: () => unknown = () => undefined;
  if (nodeSettings) {
    // The network every node follows is the server's to decide, as K3s agents read it from theirs.
    const cluster = await clusterConfig(api, dataDir, stop.signal);
    if (cluster) {
      const node = await startNodeAgent(api, { ...nodeSettings, cluster }, joined.clientCaPem);
      stopNode = () => node.stop();
    }
  } else {
    const node = new HollowNode(api, { name: nodeName });
    await node.start();
    stopNode = () => node.stop();
  }
  log.info({ server, node: nodeName, hollow: config.hollow }, 'skiff agent ready');
  await notifyReady();
  // A signal during start-up has already fired: then the node stops as soon as it has started.
  await new Promise<void>((resolve) => onAbort(stop.signal, resolve));
  await rotation.stop();
  await stopNode();
  servers.stop();
  transport.close();
}
