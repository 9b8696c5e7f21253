// Composition root of `skiff server`: datastore, cluster PKI, the API over HTTPS, the admin
// kubeconfig and the join token; then it runs until told to stop.
import { firstHostIPv4 } from '../k8s/ipv4.js';
import path from 'node:path';
import type { Settings } from '../cli/config.js';
import { openSqliteStore } from '../store/index.js';
import { ensureClusterPki, issueClientCertificate } from '../pki/cluster-pki.js';
import { writeKubeconfig } from '../pki/kubeconfig.js';
import { ensureJoinToken } from '../pki/join-token.js';
import { log } from '../log.js';
import { createApiServer } from '../apiserver/api-server.js';
import { listenHttps } from './https.js';
import { startControlPlane } from './control-plane.js';
import { timingsFromArgs, type ControllerTimings } from '../controllers/settings.js';
import { UsageError } from '../cli/values.js';
import { nodeAgentSettings } from '../agent/agent.js';
import { startNodeAgent, type NodeAgentSettings } from '../agent/node-agent.js';
import { SERVER_NODE_LABELS } from '../agent/node-registration.js';
import { ApiClient } from '../client/rest-client.js';
import { inProcessTransport } from '../client/transport.js';

/** The address kubeconfigs point at: loopback unless the server is bound to one address. */
function clientHost(bindAddress: string): string {
  if (bindAddress === '0.0.0.0' || bindAddress === '::') return '127.0.0.1';
  return bindAddress.includes(':') ? `[${bindAddress}]` : bindAddress;
}

function controllerTimings(args: string[]): ControllerTimings {
  try {
    return timingsFromArgs(args);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Where pods reach the API server: --advertise-address, the bind address, or the first node IP. */
function advertiseAddress(settings: Settings, bindAddress: string): string {
  const given = settings['advertise-address'] as string | undefined;
  if (given) return given;
  if (bindAddress !== '0.0.0.0' && bindAddress !== '::') return bindAddress;
  return firstHostIPv4();
}

/** The server's own node: the agent's settings, plus K3s's control-plane roles. */
function serverNodeSettings(settings: Settings): NodeAgentSettings {
  const node = nodeAgentSettings(settings);
  return { ...node, labels: { ...SERVER_NODE_LABELS, ...node.labels } };
}

export async function runServer(settings: Settings): Promise<void> {
  const timings = controllerTimings(settings['kube-controller-manager-arg'] as string[]);
  // Bad agent settings (labels, registries file, ...) stop the server before it opens anything.
  const nodeSettings = settings['disable-agent'] ? undefined : serverNodeSettings(settings);
  // Each node gets a /24 of the cluster range, so the range must hold at least one.
  if (Number((settings['cluster-cidr'] as string).split('/')[1]) > 24)
    throw new UsageError(`invalid --cluster-cidr ${String(settings['cluster-cidr'])}: it must be a /24 or larger (each node gets a /24)`);
  const dataDir = settings['data-dir'] as string;
  const dbFile = path.join(dataDir, 'server', 'db', 'state.db');
  const store = await openSqliteStore({ file: dbFile });
  const bindAddress = settings['bind-address'] as string;
  const pki = await ensureClusterPki(dataDir, {
    sans: [...(settings['tls-san'] as string[]), ...(bindAddress.startsWith('0.0.0.0') || bindAddress === '::' ? [] : [bindAddress])],
  });
  const token = ensureJoinToken(dataDir, pki.serverCa.certPem, settings.token as string | undefined);
  const join = {
    caPem: pki.serverCa.certPem,
    clientCaPem: pki.clientCa.certPem,
    token,
    issueNodeCertificate: (name: string) => issueClientCertificate(pki, `system:node:${name}`, ['system:nodes']),
  };
  const stack = await createApiServer({
    store,
    serviceAccountKeyPem: pki.serviceAccountKeyPem,
    serviceCIDR: settings['service-cidr'] as string,
    join,
    kubeletClient: pki.kubeletClient,
  });
  const https = await listenHttps(stack.app, {
    port: settings['https-listen-port'] as number,
    host: bindAddress,
    certPem: pki.serving.certPem + pki.serverCa.certPem,
    keyPem: pki.serving.keyPem,
    clientCAPem: pki.clientCa.certPem,
    onUpgrade: stack.upgrade,
  });
  const server = `https://${clientHost(bindAddress)}:${https.port}`;
  await stack.publishApiServer(advertiseAddress(settings, bindAddress), https.port);
  const kubeconfig = settings['write-kubeconfig'] as string;
  writeKubeconfig(kubeconfig, settings['write-kubeconfig-mode'] as number, {
    server,
    caPem: pki.serverCa.certPem,
    certPem: pki.admin.certPem,
    keyPem: pki.admin.keyPem,
  });
  const controlPlane = startControlPlane(stack.app, {
    scheduler: !settings['disable-scheduler'],
    controllers: !settings['disable-controller-manager'],
    clusterCaPem: pki.serverCa.certPem,
    timings,
    clusterCIDR: settings['cluster-cidr'] as string,
  });
  // The local agent talks to the API in-process, as its node: system:node:<name>.
  const nodeName = settings['node-name'] as string;
  const agent =
    nodeSettings &&
    (await startNodeAgent(
      new ApiClient(
        inProcessTransport(stack.app, { username: `system:node:${nodeName}`, groups: ['system:nodes', 'system:authenticated'] }),
      ),
      nodeSettings,
      pki.clientCa.certPem,
    ));
  log.info({ server, kubeconfig, dbFile, revision: store.currentRevision(), agent: !!agent }, 'skiff server ready');

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'skiff server stopping');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await agent?.stop();
  await controlPlane.stop();
  await https.close();
  await stack.close();
  await store.close();
}
