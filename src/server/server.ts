// Composition root of `skiff server`: datastore, cluster PKI, the API over HTTPS, the admin
// kubeconfig and the join token; then it runs until told to stop.
import fs from 'node:fs';
import path from 'node:path';
import type { ClusterConfig } from '../k8s/cluster-config.js';
import { firstHostIPv4, intToIp, ipToInt } from '../k8s/ipv4.js';
import { ConfigError } from '../k8s/config-error.js';
import { inspectCertificateRequest, signCertificateRequest } from '../pki/csr.js';
import { writeKubeconfig } from '../pki/kubeconfig.js';
import { ensureAgentToken, ensureJoinToken, tokenSecret } from '../pki/join-token.js';
import { openDatastore, resetEmbeddedEtcd, runsEmbeddedEtcd } from './datastore.js';
import { sqliteFile } from './db-paths.js';
import { putBootstrap, sealBootstrap } from './bootstrap.js';
import { ensureNodePassword } from '../apiserver/node-password.js';
import { nodePassword } from '../agent/join.js';
import { nodeUser } from '../k8s/nodes.js';
import { labelServerNode, splitNodeLabels } from './server-node.js';
import { startManifests } from './manifests.js';
import { stageLocalStorage } from './local-storage.js';
import { stageIngressClass } from './ingress-class.js';
import { log } from '../log.js';
import { systemdNotifier } from '../sd-notify.js';
import { createApiServer } from '../apiserver/api-server.js';
import { openSecretsEncryption, encryptExistingSecrets } from './secrets-encryption.js';
import { listenHttps } from './https.js';
import { startControlPlane } from './control-plane.js';
import { serverSettings, type ServerConfig } from './config.js';
import { nodeAgentSettings } from '../agent/config.js';
// The node agent (containerd's client among it) is loaded only by a server that runs one.
import type { NodeAgentSettings } from '../agent/node-agent.js';
import { SERVER_NODE_LABELS } from '../agent/node-registration.js';
import { ApiClient } from '../client/rest-client.js';
import { inProcessTransport } from '../client/transport.js';
import { clusterReset, nextRun, snapshotService, startSnapshotSchedule, type SnapshotSettings } from './snapshots.js';

/** The server's own identity for what it does to the cluster itself (K3s's supervisor). */
const SUPERVISOR = { username: 'system:skiff-supervisor', groups: ['system:masters', 'system:authenticated'] };

/** The host part of a URL for an address: loopback for the wildcard addresses, IPv6 in brackets. */
function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '::') return '127.0.0.1';
  return address.includes(':') ? `[${address}]` : address;
}

/** Where pods reach the API server: --advertise-address, the bind address, or the first node IP. */
function advertiseAddress(c: ServerConfig): string {
  if (c.advertiseAddress) return c.advertiseAddress;
  if (c.bindAddress !== '0.0.0.0' && c.bindAddress !== '::') return c.bindAddress;
  return firstHostIPv4();
}

/** Names of the API server's certificate besides this machine's own (cluster-pki.ts adds those). */
function apiSans(c: ServerConfig, cluster: ClusterConfig): string[] {
  const bound = c.bindAddress.startsWith('0.0.0.0') || c.bindAddress === '::' ? [] : [c.bindAddress];
  // Pods reach the API at the first address of the service range (default/kubernetes) too.
  return [...c.tlsSan, ...bound, intToIp(ipToInt(cluster.serviceCIDR.split('/')[0]!) + 1)];
}

/**
 * The server's own node: the agent's settings, and K3s's control-plane roles with the other labels
 * a node may not set on itself, which the server applies (`restricted`).
 */
function serverNodeSettings(c: ServerConfig, cluster: ClusterConfig): { node: NodeAgentSettings; restricted: Record<string, string> } {
  const node = nodeAgentSettings(c);
  const { own, restricted } = splitNodeLabels({ ...SERVER_NODE_LABELS, ...node.labels });
  return { node: { ...node, labels: own, cluster }, restricted };
}

/**
 * K3s's <data-dir>/server/node-token (the server's token under the name K3s users look for) and the
 * exact command that joins an agent, for the person who started the server.
 */
function announceJoin(c: ServerConfig, token: string, server: string): void {
  const nodeToken = path.join(c.dataDir, 'server', 'node-token');
  fs.writeFileSync(nodeToken, `${token}\n`, { mode: 0o600 });
  fs.chmodSync(nodeToken, 0o600); // a file left by an older start keeps its mode otherwise
  log.info(`Node token is available at ${nodeToken}`);
  // With --agent-token, agents join with theirs: K3s's agent-token, which the server's token is not.
  const tokenFile = c.agentToken ? path.join(c.dataDir, 'server', 'agent-token') : nodeToken;
  log.info(`To join agent node to cluster: skiff agent --server ${server} --token-file ${tokenFile}`);
}

export async function runServer(c: ServerConfig): Promise<void> {
  // Bad settings (agent's too: labels, registries file, ...) stop the server before it opens anything.
  const { timings, podSecurity, cluster } = serverSettings(c);
  const nodeSettings = c.disableAgent ? undefined : serverNodeSettings(c, cluster);
  const notifyReady = systemdNotifier();
  const { dataDir, bindAddress } = c;
  const dbFile = sqliteFile(dataDir);
  const snapshots: SnapshotSettings = {
    dir: c.etcdSnapshotDir ?? path.join(dataDir, 'server', 'db', 'snapshots'),
    node: c.nodeName,
    name: c.etcdSnapshotName,
    cron: c.etcdSnapshotScheduleCron,
    retention: c.etcdSnapshotRetention,
    disabled: c.etcdDisableSnapshots,
  };
  if (!snapshots.disabled) nextRun(snapshots.cron, new Date()); // a bad schedule stops the start here
  if (c.datastoreEndpoint && c.clusterReset)
    throw new ConfigError("--cluster-reset restores Skiff's SQLite datastore: with --datastore-endpoint, use the database's own backups");
  // On etcd the reset is all this start does (K3s's way): the server is started again without the flags.
  if (runsEmbeddedEtcd(c) && c.clusterReset) return resetEmbeddedEtcd(c, apiSans(c, cluster), advertiseAddress(c));
  clusterReset(dbFile, c.clusterReset, c.clusterResetRestorePath);
  const secret = tokenSecret(dataDir, c.token);
  const openEncryption = () => openSecretsEncryption({ dataDir, enable: c.secretsEncryption, provider: c.secretsEncryptionProvider });
  const advertise = advertiseAddress(c);
  const datastore = await openDatastore(c, secret, apiSans(c, cluster), advertise, openEncryption);
  const { store, pki, prepared: encryption, etcd } = datastore;
  // The embedded etcd cluster's members, as this server's client sees them (joins, deleted nodes).
  const etcdMembers = etcd && (await import('./etcd-membership.js')).membersOf(etcd);
  // On SQLite this server is the only one there can be (its exclusive lock keeps others out).
  const shared = !!(etcd || c.datastoreEndpoint);
  // Servers sharing the datastore take a secrets-encrypt change from it at their next start (as K3s's).
  let sharing = Promise.resolve();
  if (shared)
    encryption.onChange = () => {
      sharing = sharing
        .then(() => putBootstrap(store, dataDir, secret))
        .catch((err: Error) => log.error({ err: err.message }, 'cannot save the secrets-encryption config for the other servers'));
    };
  const token = ensureJoinToken(dataDir, pki.serverCa.certPem, secret);
  // K3s's <data-dir>/server/agent-token: --agent-token, or the server's token when none is given.
  const agentToken = ensureAgentToken(dataDir, pki.serverCa.certPem, token, c.agentToken);
  const join = { caPem: pki.serverCa.certPem, clientCaPem: pki.clientCa.certPem, token, agentToken: c.agentToken ? agentToken : undefined };
  const stack = await createApiServer({
    store,
    encryption,
    snapshots: snapshotService(store, snapshots),
    serviceAccountKeyPem: pki.serviceAccountKeyPem,
    cluster,
    join,
    serverJoin: {
      caPem: pki.serverCa.certPem,
      token,
      bootstrap: () => sealBootstrap(dataDir, secret),
      addEtcdMember: etcdMembers?.add,
    },
    kubeletClient: pki.kubeletClient,
    podSecurity,
  });
  await encryptExistingSecrets(encryption, store);
  // What the server wrote of its own so far was told to nobody: from now on each commit is durable.
  await datastore.syncEachCommit?.();
  const https = await listenHttps(stack.app, {
    port: c.httpsListenPort,
    host: bindAddress,
    certPem: pki.serving.certPem + pki.serverCa.certPem,
    keyPem: pki.serving.keyPem,
    clientCAPem: pki.clientCa.certPem,
    onUpgrade: stack.upgrade,
  });
  const server = `https://${urlHost(bindAddress)}:${https.port}`;
  // Listing this server in default/kubernetes goes on while the rest starts; the server is ready once
  // it is done (a failure still stops the start).
  const published = stack.publishApiServer(advertise, https.port, shared);
  published.catch(() => undefined);
  const kubeconfig = c.writeKubeconfig;
  writeKubeconfig(kubeconfig, c.writeKubeconfigMode, {
    server,
    caPem: pki.serverCa.certPem,
    certPem: pki.admin.certPem,
    keyPem: pki.admin.keyPem,
  });
  const controlPlane = startControlPlane(stack.app, {
    leaderElection: shared,
    scheduler: !c.disableScheduler,
    controllers: !c.disableControllerManager,
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
  const { nodeName } = c;
  if (nodeSettings) await ensureNodePassword(stack.objects, stack.registry, nodeName, nodePassword(dataDir));
  const { username, groups } = nodeUser(nodeName);
  const nodeClient = new ApiClient(inProcessTransport(stack.app, { username, groups: [...groups, 'system:authenticated'] }));
  const agent =
    nodeSettings && (await (await import('../agent/node-agent.js')).startNodeAgent(nodeClient, nodeSettings.node, pki.clientCa.certPem));
  // The roles a node may not give itself are the server's to set.
  const background = new AbortController();
  const supervisor = new ApiClient(inProcessTransport(stack.app, SUPERVISOR), 'skiff-supervisor');
  const labelled = nodeSettings ? labelServerNode(supervisor, nodeName, nodeSettings.restricted, background.signal) : Promise.resolve();
  // A server deleted with kubectl delete node leaves the etcd cluster (every server watches; one removes it).
  const removals = etcdMembers ? etcdMembers.removeDeletedNodes(supervisor, background.signal) : Promise.resolve();
  stageLocalStorage(path.join(dataDir, 'server', 'manifests'), cluster.disabled);
  stageIngressClass(path.join(dataDir, 'server', 'manifests'), cluster.disabled);
  const manifests = startManifests({ dir: path.join(dataDir, 'server', 'manifests'), client: supervisor, disabled: cluster.disabled });
  const schedule = startSnapshotSchedule(store, snapshots);
  await published;
  log.info(`Wrote kubeconfig ${kubeconfig}`);
  announceJoin(c, token, `https://${urlHost(advertise)}:${https.port}`);
  log.info(
    {
      server,
      kubeconfig,
      dbFile: shared ? undefined : dbFile,
      etcd: !!etcd,
      revision: store.currentRevision(),
      agent: !!agent,
    },
    'skiff server ready',
  );
  await notifyReady();

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'skiff server stopping');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  background.abort();
  await labelled;
  await removals;
  await manifests.stop();
  await agent?.stop();
  await controlPlane.stop();
  await https.close();
  await schedule.stop();
  await stack.close();
  await sharing;
  await store.close();
  etcdMembers?.close();
  await etcd?.stop();
}
