// What every reconcile loop shares: keys from a work queue handed to a few workers; a failed key is
// retried with backoff, a successful one forgets its failures.
import { log } from '../log.js';
import type { ApiClient } from '../client/rest-client.js';
import type { EventRecorder } from '../client/event-recorder.js';
import type { SharedInformers } from '../client/shared-informers.js';
import { WorkQueue } from '../client/workqueue.js';
import type { Informer, InformerHandlers } from '../client/informer.js';
import { markedForDeletion, type Expectations } from './expectations.js';
import { controllerRef } from '../k8s/owners.js';
import { onAbort } from '../k8s/abort.js';

export interface ControllerContext {
  /** The controller manager's own identity: shared informers, events, discovery. */
  api: ApiClient;
  /**
   * The client a controller writes with, as its own identity (upstream's
   * --use-service-account-credentials: the service account kube-system/<name>, bound to the
   * ClusterRole system:controller:<name>), with `name` as its field manager.
   */
  client(name: string): ApiClient;
  informers: SharedInformers;
  recorder(component: string): EventRecorder;
}

export interface Controller {
  readonly name: string;
  /** Runs until the signal aborts; informers are already synced. */
  run(signal: AbortSignal): Promise<void>;
}

/** A controller that reconciles keys from its queue with `workers` concurrent workers. */
export abstract class QueueController implements Controller {
  readonly queue = new WorkQueue<string>();
  protected workers = 2;

  abstract readonly name: string;
  protected abstract reconcile(key: string): Promise<void>;

  async run(signal: AbortSignal): Promise<void> {
    onAbort(signal, () => this.queue.shutdown());
    await Promise.all(Array.from({ length: this.workers }, () => this.work()));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcile(key);
        this.queue.forget(key);
      } catch (err) {
        log.warn(
          { controller: this.name, key, err: (err as Error).message, retries: this.queue.requeues(key) },
          'reconcile failed, will retry',
        );
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}

type Owned = Parameters<typeof controllerRef>[0] & { metadata?: { namespace?: string } };

/** Indexes an informer by controller uid ('' for objects nobody controls). */
export function indexByController<T extends Owned>(informer: Informer<T>): Informer<T> {
  return informer.addIndex('controller', (o) => [controllerRef(o)?.uid ?? '']);
}

/** What `owner` controls, from an informer indexed with indexByController. */
export const controlledBy = <T extends Owned>(informer: Informer<T>, owner: Owned): T[] =>
  informer.byIndex('controller', owner.metadata!.uid!);

/** Objects in a namespace that no controller owns (candidates for adoption). */
export const orphansIn = <T extends Owned>(informer: Informer<T>, namespace: string | undefined): T[] =>
  informer.byIndex('controller', '').filter((o) => o.metadata?.namespace === namespace);

type Dependent = Owned & { metadata?: { deletionTimestamp?: string } };

/**
 * Informer handlers for dependents (a ReplicaSet's pods, a CronJob's jobs, ...): every event queues
 * the key of the `kind` that controls the object and, given expectations, counts what was created
 * and deleted; a dependent marked for deletion counts as deleted (on a dead node it may never go).
 * `orphan` hears of objects that no `kind` controls.
 */
export function ownerHandlers<T extends Dependent>(
  kind: string,
  queue: WorkQueue<string>,
  opts: { expectations?: Expectations; orphan?: (obj: T) => void } = {},
): InformerHandlers<T> {
  const ownerKey = (o: T) => {
    const ref = controllerRef(o);
    return ref?.kind === kind ? `${o.metadata!.namespace}/${ref.name}` : undefined;
  };
  return {
    add: (o) => {
      const key = ownerKey(o);
      if (!key) return opts.orphan?.(o);
      opts.expectations?.creationObserved(key);
      queue.add(key);
    },
    update: (old, o) => {
      const key = ownerKey(o);
      const oldKey = ownerKey(old);
      if (oldKey && oldKey !== key) queue.add(oldKey);
      if (!key) return opts.orphan?.(o);
      if (markedForDeletion(old, o)) opts.expectations?.deletionObserved(key);
      queue.add(key);
    },
    delete: (o) => {
      const key = ownerKey(o);
      if (!key) return;
      if (!o.metadata?.deletionTimestamp) opts.expectations?.deletionObserved(key);
      queue.add(key);
    },
  };
}
