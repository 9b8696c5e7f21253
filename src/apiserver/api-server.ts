// The API server without a network: datastore -> object store (with admission) -> hono app, and
// the system objects every cluster has. src/server serves it over HTTPS; tests and in-process
// components call `app.fetch` directly.
import type { Hono } from 'hono';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { KubeletProxy, type KubeletClientCert } from './kubelet-proxy.js';
import { composeAdmission } from '../api/admission/plugin.js';
import { managedFieldsAdmission } from '../api/admission/managed-fields.js';
import { ServiceAllocations } from '../api/admission/services.js';
import { priorityAdmission } from '../api/admission/priority.js';
import { serviceAccountAdmission } from '../api/admission/service-account.js';
import { podSecurityAdmission, type PodSecurityConfig } from '../api/admission/pod-security/admission.js';
import { CrdSync } from '../api/crd/crd-sync.js';
import { ApiServiceRegistration } from '../api/apiservices/autoregister.js';
import { kubeletSummaries, METRICS_READER, METRICS_READER_NAME, MetricsApi, metricsResources } from './metrics-api.js';
import { hpaV1, hpaV1Handler } from './hpa-v1.js';
import { ApiServiceStatusSync } from '../api/apiservices/status-sync.js';
import { createPatchers } from '../api/patch/index.js';
import { Registry } from '../api/registry/registry.js';
import { builtinResources } from '../api/registry/builtin/index.js';
import { ObjectStore } from '../api/storage/object-store.js';
import type { Store } from '../store/index.js';
import { createApp } from './app.js';
import type { Bindings, UserInfo } from './authn.js';
import { patchResponse, type PatchDeps } from './patch-handler.js';
import { podSubresourceHandlers } from './pod-subresources.js';
import { reviewHandlers } from './reviews.js';
import { scaleResponse } from './scale-handler.js';
import { ServiceAccountTokens, storeLookups } from './service-account-tokens.js';
import { tokenRequestHandler } from './token-request.js';
import { namespaceFinalizeHandler } from './namespace-finalize.js';
import { openapiRoutes } from './openapi-routes.js';
import { joinRoutes, type NodeJoin } from './join-routes.js';
import { ApiServerEndpoints, type ApiServerAddress } from './apiserver-endpoints.js';
import { serverJoinRoutes, type ServerJoin } from './server-join-routes.js';
import { checkFields } from './field-validation.js';
import { schemaLookup } from '../api/openapi/schemas.js';
import { ensureClusterDnsService, ensureKubernetesService, ensureSystemNamespaces, ensureSystemPriorityClasses } from './bootstrap.js';
import { CLUSTER_CONFIG_PATH, DEFAULT_CLUSTER_CONFIG, type ClusterConfig } from '../k8s/cluster-config.js';
import { jsonResponse } from './negotiate.js';
import { union } from './authz/authorizer.js';
import { privilegedGroups, SYSTEM_MASTERS } from './authz/privileged.js';
import { rbacAuthorizer } from './authz/rbac/authorizer.js';
import { RbacCache } from './authz/rbac/cache.js';
import { escalationAdmission } from './authz/rbac/escalation.js';
import { reconcileDefaultPolicy } from './authz/rbac/reconcile.js';
import { NodeAuthorizer } from './authz/node.js';
import { NodeGraphFeed } from './authz/node-graph-feed.js';
import { nodeRestrictionAdmission } from '../api/admission/node-restriction.js';
import { certificateSigningAdmission } from '../api/admission/certificate-signing.js';
import { defaultStorageClassAdmission } from '../api/admission/default-storage-class.js';
import { defaultIngressClassAdmission } from '../api/admission/default-ingress-class.js';
import { csrApprovalHandler } from './csr-approval.js';
import { nodePasswordRelease } from './node-password.js';
import type { SecretsEncryption } from '../api/encryption/secrets-encrypt.js';
import { encryptionRoutes } from './encryption-routes.js';
import { snapshotRoutes, type SnapshotService } from './snapshot-routes.js';
import { dashboardRoutes } from './dashboard-routes.js';

export interface ApiServerOptions {
  store: Store;
  /** Encryption at rest (--secrets-encryption) and the secrets-encrypt endpoints. */
  encryption?: SecretsEncryption;
  /** `skiff snapshot save` on the running server (the SQLite datastore). */
  snapshots?: SnapshotService;
  /** PKCS#8 PEM of the key that signs service account tokens. */
  serviceAccountKeyPem: string;
  /** The cluster's network (service range, cluster DNS, ...), also handed to agents. */
  cluster?: ClusterConfig;
  /** Lets agents join with the cluster's token (GET /cacerts, POST /v1-skiff/node-certificate). */
  join?: NodeJoin;
  /** Lets other servers join with the server token (bootstrap data, etcd membership). */
  serverJoin?: ServerJoin;
  /** The certificate the API server presents to nodes for logs, exec, attach and port-forward. */
  kubeletClient?: KubeletClientCert;
  /** Pod Security admission's cluster defaults and exemptions (default: privileged everywhere, as K3s). */
  podSecurity?: PodSecurityConfig;
}

export interface ApiServer {
  app: Hono<{ Bindings: Bindings; Variables: { user: UserInfo } }>;
  /** Points the default/kubernetes Service at where the API server listens (and at the others sharing its datastore). */
  publishApiServer(address: string, port: number, shared: boolean): Promise<void>;
  registry: Registry;
  objects: ObjectStore;
  tokens: ServiceAccountTokens;
  /** Handles upgrade requests (exec, attach, portforward) the HTTPS server hands over. */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const registry = new Registry(builtinResources());
  const cluster = opts.cluster ?? DEFAULT_CLUSTER_CONFIG;
  const services = new ServiceAllocations(cluster.serviceCIDR, cluster.serviceNodePortRange);
  const schemas = schemaLookup(registry);
  // Admission looks objects up (priority classes, service accounts) through a store of its own,
  // which only reads and so needs no admission.
  const reader = new ObjectStore(opts.store, {}, opts.encryption);
  // Who may do what, the first opinion deciding: system:masters, then the Node authorizer (each
  // node's own objects, from the graph of its pods), then RBAC (--authorization-mode=Node,RBAC).
  const rbac = new RbacCache(opts.store, registry);
  const nodeGraph = new NodeGraphFeed(reader, registry);
  const authorizer = union(privilegedGroups(SYSTEM_MASTERS), new NodeAuthorizer(nodeGraph), rbacAuthorizer(rbac));
  let objects: ObjectStore | undefined;
  const admission = composeAdmission([
    services, // ClusterIPs and NodePorts, allocated and released with their Service
    managedFieldsAdmission(schemas), // who wrote which fields
    nodeRestrictionAdmission(reader, () => registry.byResource('', 'v1', 'nodes')), // a node writes only its own Node, Lease, pods' status
    priorityAdmission(reader, registry), // a pod's priority from its PriorityClass
    serviceAccountAdmission(reader, registry), // a pod's service account and its token volume
    defaultStorageClassAdmission(reader, registry), // a claim without a class gets the default one
    defaultIngressClassAdmission(reader, registry), // an Ingress without a class gets the default one
    certificateSigningAdmission(), // a CSR's requester is who asked; approval and status change only their parts
    nodePasswordRelease(() => objects!, registry), // a deleted Node frees its name for another machine
    escalationAdmission(rbac, authorizer), // nobody grants RBAC permissions they do not hold
    podSecurityAdmission(reader, registry, opts.podSecurity), // after validation: pods and templates against their namespace's level
  ]);
  objects = new ObjectStore(opts.store, admission, opts.encryption);
  opts.encryption?.attach(opts.store, registry);
  services.adopt((await objects.list(registry.byResource('', 'v1', 'services')!, undefined)).items);

  // Tokens live as long as their service account and the pod or Secret they are bound to.
  const tokens = new ServiceAccountTokens(opts.serviceAccountKeyPem, storeLookups(objects, registry));
  const authenticateToken = (token: string) => tokens.verify(token);

  const fieldCheck = checkFields(schemas);
  const patchDeps: PatchDeps = { objects, patchers: createPatchers(schemas), checkFields: fieldCheck };
  const gate = { authenticateToken, authorizer };
  const kubelets = opts.kubeletClient ? new KubeletProxy(registry, objects, opts.kubeletClient, gate) : undefined;
  // metrics.k8s.io from the nodes' kubelets, unless --disable metrics-server (then neither it nor its APIService).
  const metrics =
    opts.kubeletClient && !cluster.disabled.includes('metrics-server')
      ? new MetricsApi(registry, objects, kubeletSummaries(opts.kubeletClient))
      : undefined;
  for (const def of metrics ? metricsResources : []) registry.add(def);
  registry.add(hpaV1); // after v2, which stays the preferred version
  let ready = false;
  const app = createApp({
    registry,
    objects,
    authenticateToken,
    authorizer,
    isReady: () => ready,
    checkFields: fieldCheck,
    patch: (ctx, toStatus) => patchResponse(ctx, patchDeps, toStatus),
    scale: (ctx) => scaleResponse(ctx, patchDeps),
    special: {
      ...reviewHandlers(authenticateToken, authorizer),
      ...podSubresourceHandlers(registry, objects),
      ...(kubelets ? { 'pods/log': kubelets.logs } : {}),
      ...metrics?.handlers,
      horizontalpodautoscalers: hpaV1Handler(registry, objects),
      'serviceaccounts/token': tokenRequestHandler(registry, objects, tokens),
      'namespaces/finalize': namespaceFinalizeHandler(registry, objects),
      'certificatesigningrequests/approval': csrApprovalHandler(registry, objects),
    },
    extraRoutes: (app) => {
      openapiRoutes(registry)(app);
      if (opts.encryption) encryptionRoutes(opts.encryption)(app);
      if (opts.snapshots) snapshotRoutes(opts.snapshots)(app);
      // What every agent follows: ranges, cluster DNS, the pod network backend (K3s's /v1-k3s/config).
      app.get(CLUSTER_CONFIG_PATH, () => jsonResponse(cluster));
    },
    publicRoutes: (app) => {
      if (opts.join) joinRoutes(opts.join, objects, registry)(app);
      if (opts.serverJoin) serverJoinRoutes(opts.serverJoin)(app);
      // The web dashboard's static files (no data in them: its API calls carry the user's token).
      if (!cluster.disabled.includes('dashboard')) dashboardRoutes()(app);
    },
  });
  await ensureSystemNamespaces(objects, registry);
  await rbac.start();
  await reconcileDefaultPolicy(objects, registry, metrics ? { add: [METRICS_READER] } : { remove: [METRICS_READER_NAME] });
  await ensureSystemPriorityClasses(objects, registry);
  if (!cluster.disabled.includes('coredns')) await ensureClusterDnsService(objects, registry, cluster.clusterDNS);
  const crds = new CrdSync(objects, registry, registry.byResource('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!);
  await crds.start();
  // After the CRDs are served, so that their APIServices are not taken for stale ones.
  const apiServices = new ApiServiceRegistration(objects, registry, registry.byResource('apiregistration.k8s.io', 'v1', 'apiservices')!);
  await apiServices.start();
  const apiServiceStatus = new ApiServiceStatusSync(objects, registry);
  await apiServiceStatus.start();
  await nodeGraph.start();
  ready = true;
  let endpoints: ApiServerEndpoints | undefined;
  const publishApiServer = async (address: string, port: number, shared: boolean) => {
    const write = (servers: ApiServerAddress[]) => ensureKubernetesService(objects, registry, services.ips.first(), servers);
    // A server alone on its datastore is the only one there can be: it is listed, with no lease to keep.
    if (!shared) return write([{ address, port }]);
    endpoints = new ApiServerEndpoints(opts.store, { address, port }, write);
    await endpoints.start();
  };
  const upgrade = kubelets && ((req: IncomingMessage, socket: Duplex, head: Buffer) => void kubelets.upgrade(req, socket, head));
  const close = async () => {
    await endpoints?.stop();
    rbac.stop();
    nodeGraph.stop();
    crds.stop();
    apiServices.stop();
    apiServiceStatus.stop();
  };
  return { app, registry, objects, tokens, publishApiServer, upgrade, close };
}
