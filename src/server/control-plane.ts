// The control loops inside `skiff server`: the controller manager and the scheduler, each under its
// own leader-elected Lease (as kube-controller-manager and kube-scheduler) when other servers can
// exist, reaching the API in-process through the app's fetch, never the datastore.
import { ApiClient } from '../client/rest-client.js';
import { inProcessTransport, type FetchApp } from '../client/transport.js';
import { runControllers, runLeaderElected, runUnelected, type LeaseTiming } from '../controllers/manager.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { ControllerTimings } from '../controllers/settings.js';
import type { CertificateSigner } from '../controllers/certificates.js';
import type { LegacyTokenIssuer } from '../controllers/serviceaccount-token.js';

export interface ControlPlaneOptions {
  scheduler?: boolean;
  controllers?: boolean;
  /**
   * Whether other servers can run the same loops (a shared datastore): then each loop runs under a
   * Lease. The only server there can be (on SQLite) writes none. Default true.
   */
  leaderElection?: boolean;
  leaseTiming?: LeaseTiming;
  clusterCaPem?: string;
  timings?: ControllerTimings;
  clusterCIDR?: string;
  disabled?: string[];
  /** The client CA, for the certificate controllers (nodes' client certificates). */
  certificateSigner?: CertificateSigner;
  /** Signs legacy service account tokens for the token controller. */
  legacyTokenIssuer?: LegacyTokenIssuer;
}

/** The in-process identity of a service account kube-system/<name>, as its token would authenticate. */
export function systemServiceAccount(name: string): { username: string; groups: string[] } {
  const groups = ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'];
  return { username: `system:serviceaccount:kube-system:${name}`, groups };
}

export function startControlPlane(app: FetchApp, opts: ControlPlaneOptions = {}): { stop(): Promise<void> } {
  const abort = new AbortController();
  const loops: Promise<void>[] = [];
  const elected = (api: ApiClient, lease: string, work: (signal: AbortSignal) => Promise<void>) =>
    opts.leaderElection === false
      ? runUnelected(lease, work, abort.signal)
      : runLeaderElected(api, lease, work, abort.signal, opts.leaseTiming);
  const client = (username: string) => new ApiClient(inProcessTransport(app, { username, groups: ['system:authenticated'] }), username);
  if (opts.controllers !== false) {
    // The manager lists, watches and records events as itself; each controller writes as its own service account.
    const api = client('system:kube-controller-manager');
    const identity = (name: string) => new ApiClient(inProcessTransport(app, systemServiceAccount(name)), name);
    loops.push(
      elected(api, 'kube-controller-manager', (signal) =>
        runControllers(api, signal, {
          clusterCaPem: opts.clusterCaPem,
          timings: opts.timings,
          clusterCIDR: opts.clusterCIDR,
          disabled: opts.disabled,
          identity,
          certificateSigner: opts.certificateSigner,
          legacyTokenIssuer: opts.legacyTokenIssuer,
        }),
      ),
    );
  }
  if (opts.scheduler !== false) {
    const api = client('system:kube-scheduler');
    loops.push(elected(api, 'kube-scheduler', (signal) => new Scheduler(api).run(signal)));
  }
  return {
    async stop() {
      abort.abort();
      await Promise.all(loops);
    },
  };
}
