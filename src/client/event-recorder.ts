// Records core/v1 Events about objects, as `kubectl describe` shows them. Repeats of the same event
// within a while bump the count of the first instead of creating new Events. Events that no server
// answered for (an agent cut off from its server) wait in a bounded backlog, with the time they
// happened, and are written once a server answers.
import { randomBytes } from 'node:crypto';
import { log } from '../log.js';
import type { ApiClient, ResourceClient } from './rest-client.js';
import { events, type KubeObject, type Writable } from './resources.js';
import type { Event } from 'kubernetes-types/core/v1.js';
import { nowTimestamp } from '../k8s/time.js';
import { ApiError } from '../k8s/errors.js';

const REMEMBER = 4096;
/** Events kept while no server answers (the oldest go first when there are more). */
const BACKLOG = 256;
const RETRY_MS = 10_000;

interface Pending {
  obj: KubeObject;
  type: EventType;
  reason: string;
  message: string;
  at: string;
}

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly client: ResourceClient<Writable<Event>>;
  private readonly recent = new Map<string, { namespace: string; name: string; count: number }>();
  private readonly backlog: Pending[] = [];
  private flushing = false;
  private retryTimer?: NodeJS.Timeout;

  constructor(
    api: ApiClient,
    private readonly component: string,
    private readonly host?: string,
  ) {
    this.client = api.resource(events);
  }

  /** Fire and forget: an event that cannot be written is logged (or, no server answering, kept for later), never fails the caller. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const pending = { obj, type, reason, message, at: nowTimestamp() };
    void this.write(pending).then(
      () => this.flush(),
      (err: Error) => this.failed(pending, err),
    );
  }

  private failed(pending: Pending, err: Error): void {
    // An answer of the API (forbidden, invalid, ...) will not change: the event is dropped.
    if (err instanceof ApiError) return void log.warn({ err: err.message, reason: pending.reason }, 'could not record event');
    if (this.backlog.length >= BACKLOG) this.backlog.shift();
    this.backlog.push(pending);
    this.retryLater();
  }

  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /** Writes the backlog, oldest first, until a write fails again. */
  private async flush(): Promise<void> {
    if (this.flushing || !this.backlog.length) return;
    this.flushing = true;
    try {
      while (this.backlog.length) {
        await this.write(this.backlog[0]!);
        this.backlog.shift();
      }
    } catch (err) {
      if (err instanceof ApiError) this.backlog.shift();
      this.retryLater();
    } finally {
      this.flushing = false;
    }
  }

  private async write({ obj, type, reason, message, at: now }: Pending): Promise<void> {
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const key = [meta.uid, type, reason, message].join('\0');
    const seen = this.recent.get(key);
    if (seen) {
      seen.count++;
      try {
        await this.client.patch(seen.namespace, seen.name, { count: seen.count, lastTimestamp: now });
        return;
      } catch {
        this.recent.delete(key);
      }
    }
    const name = `${meta.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`;
    await this.client.create({
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        namespace: meta.namespace,
        name: meta.name,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      type,
      reason,
      message,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      reportingComponent: this.component,
      reportingInstance: this.host ?? '',
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
    if (this.recent.size >= REMEMBER) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(key, { namespace, name, count: 1 });
  }
}
