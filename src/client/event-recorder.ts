// Records core/v1 Events about objects, as `kubectl describe` shows them. Repeats of the same event
// within a while bump the count of the first instead of creating new Events.
import { randomBytes } from 'node:crypto';
import { log } from '../log.js';
import type { ApiClient, ResourceClient } from './rest-client.js';
import { events, type KubeObject, type Writable } from './resources.js';
import type { Event } from 'kubernetes-types/core/v1.js';
import { nowTimestamp } from '../k8s/time.js';

const REMEMBER = 4096;

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly client: ResourceClient<Writable<Event>>;
  private readonly recent = new Map<string, { namespace: string; name: string; count: number }>();

  constructor(
    api: ApiClient,
    private readonly component: string,
    private readonly host?: string,
  ) {
    this.client = api.resource(events);
  }

  /** Fire and forget: an event that cannot be written is logged, never fails the caller. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    void this.write(obj, type, reason, message).catch((err: Error) => log.warn({ err: err.message, reason }, 'could not record event'));
  }

  private async write(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const now = nowTimestamp();
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
