// Composition root of `skiff server`: datastore, cluster PKI, the API over HTTPS, the admin
// kubeconfig and the join token; then it runs until told to stop.
import type { ClusterConfig, FlannelBackend } from '../k8s/cluster-config.js';
import { firstHostIPv4, intToIp, ipToInt } from '../k8s/ipv4.js';
import path from 'node:path';
import type { Settings } from '../cli/config.js';
import { openSqliteStore } from '../store/index.js';
import { ensureClusterPki } from '../pki/cluster-pki.js';
import { inspectCertificateRequest, signCertificateRequest } from '../pki/csr.js';
import { writeKubeconfig } from '../pki/kubeconfig.js';
import { ensureAgentToken, ensureJoinToken } from '../pki/join-token.js';
import { ensureNodePassword } from '../apiserver/node-password.js';
import { nodePassword } from '../agent/join.js';
import { nodeUser } from '../k8s/nodes.js';
import { labelServerNode, splitNodeLabels } from './server-node.js';
import { startManifests } from './manifests.js';
import { log } from '../log.js';
import { createApiServer } from '../apiserver/api-server.js';
import { readPodSecurityConfig } from '../api/admission/pod-security/config-file.js';
import type { PodSecurityConfig } from '../api/admission/pod-security/admission.js';
import { openSecretsEncryption, encryptExistingSecrets } from './secrets-encryption.js';
import type { ProviderType } from '../api/encryption/providers.js';
import { listenHttps } from './https.js';
import { startControlPlane } from './control-plane.js';
import { timingsFromArgs, type ControllerTimings } from '../controllers/settings.js';
import { UsageError } from '../cli/values.js';
import { nodeAgentSettings } from '../agent/agent.js';
import { startNodeAgent, type NodeAgentSettings } from '../agent/node-agent.js';
import { SERVER_NODE_LABELS } from '../agent/node-registration.js';
import { ApiClient } from '../client/rest-client.js';
import { inProcessTransport } from '../client/transport.js';

/** The server's own identity for what it does to the cluster itself (K3s's supervisor). */
const SUPERVISOR = { username: 'system:skiff-supervisor', groups: ['system:masters', 'system:authenticated'] };

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

/** The API server's settings from K3s-style --kube-apiserver-arg NAME=VALUE, with kube-apiserver's names. */
function apiServerArgs(args: string[]): { podSecurity?: PodSecurityConfig } {
  const out: { podSecurity?: PodSecurityConfig } = {};
  for (const arg of args) {
    const [name, value] = arg.replace(/^--/, '').split('=', 2);
    if (name !== 'admission-control-config-file' || !value)
      throw new UsageError(`unsupported --kube-apiserver-arg "${arg}": supported is admission-control-config-file=<path>`);
    try {
      out.podSecurity = readPodSecurityConfig(value);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return out;
}

/** Where pods reach the API server: --advertise-address, the bind address, or the first node IP. */
function advertiseAddress(settings: Settings, bindAddress: string): string {
  const given = settings['advertise-address'] as string | undefined;
  if (given) return given;
  if (bindAddress !== '0.0.0.0' && bindAddress !== '::') return bindAddress;
  return firstHostIPv4();
}

/**
 * The server's own node: the agent's settings, and K3s's control-plane roles with the other labels
 * a node may not set on itself, which the server applies (`restricted`).
 */
function serverNodeSettings(settings: Settings, cluster: ClusterConfig): { node: NodeAgentSettings; restricted: Record<string, string> } {
  const node = nodeAgentSettings(settings);
  const { own, restricted } = splitNodeLabels({ ...SERVER_NODE_LABELS, ...node.labels });
  return { node: { ...node, labels: own, cluster }, restricted };
}

/** The network every node follows, from the server's flags (agents read it at CLUSTER_CONFIG_PATH). */
function clusterConfig(settings: Settings): ClusterConfig {
  const clusterCIDR = settings['cluster-cidr'] as string;
  // Each node gets a /24 of the cluster range, so the range must hold at least one.
  if (Number(clusterCIDR.split('/')[1]) > 24)
    throw new UsageError(`invalid --cluster-cidr ${clusterCIDR}: it must be a /24 or larger (each node gets a /24)`);
  const serviceCIDR = settings['service-cidr'] as string;
  const [base, bits] = serviceCIDR.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  const clusterDNS = (settings['cluster-dns'] as string | undefined) ?? intToIp(ipToInt(base) + 10);
  const offset = ipToInt(clusterDNS) - ipToInt(base);
  if (offset <= 1 || offset >= size - 1)
    throw new UsageError(
      `invalid --cluster-dns ${clusterDNS}: it must be an address of --service-cidr ${serviceCIDR} other than its first`,
    );
  const [from, to] = (settings['service-node-port-range'] as string).split('-').map(Number) as [number, number];
  return {
    clusterCIDR,
    serviceCIDR,
    clusterDNS,
    clusterDomain: settings['cluster-domain'] as string,
    serviceNodePortRange: [from, to],
    flannelBackend: settings['flannel-backend'] as FlannelBackend,
    disabled: settings.disable as string[],
    disableKubeProxy: settings['disable-kube-proxy'] as boolean,
    disableNetworkPolicy: settings['disable-network-policy'] as boolean,
  };
}

export async function runServer(settings: Settings): Promise<void> {
  const timings = controllerTimings(settings['kube-controller-manager-arg'] as string[]);
  const { podSecurity } = apiServerArgs(settings['kube-apiserver-arg'] as string[]);
  // Bad agent settings (labels, registries file, ...) stop the server before it opens anything.
  const cluster = clusterConfig(settings);
  const nodeSettings = settings['disable-agent'] ? undefined : serverNodeSettings(settings, cluster);
  const dataDir = settings['data-dir'] as string;
  const dbFile = path.join(dataDir, 'server', 'db', 'state.db');
  const store = await openSqliteStore({ file: dbFile });
  const bindAddress = settings['bind-address'] as string;
  const pki = await ensureClusterPki(dataDir, {
    // Pods reach the API at the first address of the service range (default/kubernetes) too.
    sans: [
      ...(settings['tls-san'] as string[]),
      ...(bindAddress.startsWith('0.0.0.0') || bindAddress === '::' ? [] : [bindAddress]),
      intToIp(ipToInt(cluster.serviceCIDR.split('/')[0]!) + 1),
    ],
  });
  const token = ensureJoinToken(dataDir, pki.serverCa.certPem, settings.token as string | undefined);
  // K3s's <data-dir>/server/agent-token: --agent-token, or the server's token when none is given.
  const agentSecret = settings['agent-token'] as string | undefined;
  const agentToken = ensureAgentToken(dataDir, pki.serverCa.certPem, token, agentSecret);
  const join = { caPem: pki.serverCa.certPem, clientCaPem: pki.clientCa.certPem, token, agentToken: agentSecret ? agentToken : undefined };
  const encryption = openSecretsEncryption({
    dataDir,
    enable: settings['secrets-encryption'] === true,
    provider: settings['secrets-encryption-provider'] as ProviderType,
  });
  const stack = await createApiServer({
    store,
    encryption,
    serviceAccountKeyPem: pki.serviceAccountKeyPem,
    cluster,
    join,
    kubeletClient: pki.kubeletClient,
    podSecurity,
  });
  await encryptExistingSecrets(encryption, store);
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
    clusterCIDR: cluster.clusterCIDR,
    disabled: cluster.disabled,
    // Approved CertificateSigningRequests (nodes' and users' client certificates) are signed with the client CA.
    certificateSigner: {
      inspect: inspectCertificateRequest,
      sign: (requestPem, usages, durationMs) => signCertificateRequest(pki.clientCa, requestPem, { usages, durationMs }),
    },
    legacyTokenIssuer: (claims) => stack.tokens.issueLegacy(claims),
  });
  // The local agent talks to the API in-process, as its node: system:node:<name>, its name claimed
  // with its node password as any agent's is.
  const nodeName = settings['node-name'] as string;
  if (nodeSettings) await ensureNodePassword(stack.objects, stack.registry, nodeName, nodePassword(dataDir));
  const { username, groups } = nodeUser(nodeName);
  const agent =
    nodeSettings &&
    (await startNodeAgent(
      new ApiClient(inProcessTransport(stack.app, { username, groups: [...groups, 'system:authenticated'] })),
      nodeSettings.node,
      pki.clientCa.certPem,
    ));
  // The roles a node may not give itself are the server's to set.
  const labelling = new AbortController();
  const supervisor = new ApiClient(inProcessTransport(stack.app, SUPERVISOR), 'skiff-supervisor');
  const labelled = nodeSettings ? labelServerNode(supervisor, nodeName, nodeSettings.restricted, labelling.signal) : Promise.resolve();
  const manifests = startManifests({ dir: path.join(dataDir, 'server', 'manifests'), client: supervisor, disabled: cluster.disabled });
  log.info({ server, kubeconfig, dbFile, revision: store.currentRevision(), agent: !!agent }, 'skiff server ready');

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'skiff server stopping');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  labelling.abort();
  await labelled;
  await manifests.stop();
  await agent?.stop();
  await controlPlane.stop();
  await https.close();
  await stack.close();
  await store.close();
}
