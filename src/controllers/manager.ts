// The controller manager: under a leader-elected Lease (kube-system/kube-controller-manager), it
// starts the shared informers and every reconcile loop; on losing the lease it stops them all. A
// server that is the only one there can be runs them without a Lease (runUnelected).
import os from 'node:os';
import { setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import { EventRecorder } from '../client/event-recorder.js';
import { LeaderElector, type LeaderElectionOptions } from '../client/leader-election.js';
import type { ApiClient } from '../client/rest-client.js';
import { SharedInformers } from '../client/shared-informers.js';
import { serviceAccounts } from '../client/resources.js';
import { isAlreadyExists } from '../k8s/errors.js';
import { log } from '../log.js';
import type { Controller, ControllerContext } from './runner.js';
import { ClusterRoleAggregationController } from './clusterrole-aggregation.js';
import { CronJobController } from './cronjob.js';
import { HorizontalPodAutoscalerController } from './horizontal-pod-autoscaler.js';
import { DaemonSetController } from './daemonset.js';
import { DeploymentController } from './deployment.js';
import { EndpointsController } from './endpoints.js';
import { GarbageCollector } from './garbage-collector.js';
import { JobController } from './job.js';
import { NamespaceController } from './namespace.js';
import { NodeIpamController } from './node-ipam.js';
import { NodeLifecycleController } from './node-lifecycle.js';
import { PersistentVolumeBinder } from './persistentvolume-binder.js';
import { PodGarbageCollector } from './pod-gc.js';
import { DEFAULT_TIMINGS, type ControllerTimings } from './settings.js';
import { RootCaPublisher } from './root-ca-publisher.js';
import { ServiceAccountController } from './serviceaccount.js';
import { ServiceLBController } from './servicelb.js';
import { IngressStatusController } from './ingress-status.js';
import { ingressDisabled } from '../k8s/ingress.js';
import { LocalPathProvisioner } from './local-path-provisioner.js';
import { LOCAL_STORAGE } from '../k8s/local-path.js';
import { StatefulSetController } from './statefulset.js';
import { ReplicaSetController } from './replicaset.js';
import { ReplicationControllerController } from './replication-controller.js';
import type { CertificateSigner } from './certificates.js';
import { CsrApprovingController } from './csr-approving.js';
import { CsrSigningController } from './csr-signing.js';
import { TokenCleaner } from './token-cleaner.js';
import { type LegacyTokenIssuer, ServiceAccountTokenController } from './serviceaccount-token.js';
import { onAbort } from '../k8s/abort.js';
import { realClock, type Clock } from '../k8s/clock.js';

export type LeaseTiming = Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs' | 'clock'>;

export interface ControllerSettings {
  /** The cluster CA, published in every namespace as kube-root-ca.crt. */
  clusterCaPem?: string;
  timings?: ControllerTimings;
  /** --cluster-cidr: nodes get a /24 of it as their pod range. */
  clusterCIDR?: string;
  /** --disable: built-in components switched off (servicelb, local-storage). */
  disabled?: string[];
  /**
   * Each controller's own client, as the service account kube-system/<name> (upstream's
   * --use-service-account-credentials). Without it every controller writes with the manager's client.
   */
  identity?: (controller: string) => ApiClient;
  /** The cluster's client CA, for csrapproving and csrsigning (without it no request is approved or signed). */
  certificateSigner?: CertificateSigner;
  /** Signs the tokens of kubernetes.io/service-account-token Secrets (the token controller). */
  legacyTokenIssuer?: LegacyTokenIssuer;
}

function controllers(ctx: ControllerContext, settings: ControllerSettings): Controller[] {
  return [
    new ReplicaSetController(ctx),
    new ReplicationControllerController(ctx),
    new DeploymentController(ctx),
    new DaemonSetController(ctx),
    new StatefulSetController(ctx),
    new EndpointsController(ctx),
    new JobController(ctx),
    new CronJobController(ctx),
    new HorizontalPodAutoscalerController(ctx),
    new GarbageCollector(ctx),
    new NamespaceController(ctx),
    new ServiceAccountController(ctx),
    new NodeLifecycleController(ctx, settings.timings ?? DEFAULT_TIMINGS),
    new PodGarbageCollector(ctx),
    new PersistentVolumeBinder(ctx),
    new NodeIpamController(ctx, settings.clusterCIDR ?? '10.42.0.0/16'),
    ...(settings.clusterCaPem ? [new RootCaPublisher(ctx, settings.clusterCaPem)] : []),
    ...(settings.disabled?.includes('servicelb') ? [] : [new ServiceLBController(ctx)]),
    ...(ingressDisabled(settings.disabled ?? []) ? [] : [new IngressStatusController(ctx)]),
    ...(settings.disabled?.includes(LOCAL_STORAGE) ? [] : [new LocalPathProvisioner(ctx)]),
    new ClusterRoleAggregationController(ctx),
    ...(settings.certificateSigner
      ? [
          new CsrApprovingController(ctx, settings.certificateSigner),
          new CsrSigningController(ctx, settings.certificateSigner, (settings.timings ?? DEFAULT_TIMINGS).clusterSigningDurationMs),
        ]
      : []),
    new TokenCleaner(ctx),
    ...(settings.legacyTokenIssuer ? [new ServiceAccountTokenController(ctx, settings.legacyTokenIssuer, settings.clusterCaPem)] : []),
  ];
}

/** Runs the controllers on informers of their own until the signal aborts. */
export async function runControllers(api: ApiClient, signal: AbortSignal, settings: ControllerSettings = {}): Promise<void> {
  const informers = new SharedInformers(api);
  const host = os.hostname();
  const identities = new Set<string>();
  const ctx: ControllerContext = {
    api,
    informers,
    recorder: (component) => new EventRecorder(api, component, host),
    client: (name) => {
      identities.add(name);
      return (settings.identity?.(name) ?? api).as(name);
    },
  };
  const loops = controllers(ctx, settings);
  if (settings.identity) await ensureServiceAccounts(api, [...identities]);
  informers.start();
  onAbort(signal, () => informers.stop());
  await informers.synced();
  log.info({ controllers: loops.map((c) => c.name) }, 'controllers running');
  await Promise.all(loops.map((c) => c.run(signal)));
}

/** The controllers' service accounts in kube-system, made by the manager as upstream's client builder makes them. */
async function ensureServiceAccounts(api: ApiClient, names: string[]): Promise<void> {
  const client = api.resource(serviceAccounts);
  for (const name of names) {
    await client
      .create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'kube-system' } })
      .catch((err: unknown) => {
        if (!isAlreadyExists(err)) log.warn({ err: (err as Error).message, name }, 'could not create the service account of a controller');
      });
  }
}

/** A loop that runs only on the server holding the named Lease in kube-system. */
export function runLeaderElected(
  api: ApiClient,
  lease: string,
  work: (signal: AbortSignal) => Promise<void>,
  signal: AbortSignal,
  timing: LeaseTiming = {},
): Promise<void> {
  const elector = new LeaderElector(api, {
    namespace: 'kube-system',
    name: lease,
    identity: `${os.hostname()}_${randomUUID()}`,
    ...timing,
    onStartedLeading: (term) => work(term),
  });
  return elector.run(signal);
}

/** How long work that ended by itself waits before it runs again: an elector's lease duration. */
const RESTART_PAUSE_MS = 15_000;

/**
 * A loop of the only server there can be (SQLite's exclusive lock keeps a second one out): nothing
 * to elect, so no Lease is written. Work that ends by itself before the signal runs again after a
 * pause, as an elected leader whose work ended campaigns again after a lease duration.
 */
export async function runUnelected(
  name: string,
  work: (signal: AbortSignal) => Promise<void>,
  signal: AbortSignal,
  clock: Clock = realClock,
): Promise<void> {
  // Every loop and informer listens to it (the elector's term signal, here for the server's life).
  const life = new AbortController();
  setMaxListeners(0, life.signal);
  onAbort(signal, () => life.abort());
  while (!life.signal.aborted) {
    await work(life.signal).catch((err: Error) => log.error({ err, loop: name }, 'work failed'));
    if (!life.signal.aborted) {
      log.warn({ loop: name }, 'work stopped by itself: running it again');
      await clock.sleep(RESTART_PAUSE_MS, life.signal);
    }
  }
}
