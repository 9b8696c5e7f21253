// One informer per resource, shared by every controller in the process, so each kind is listed and
// watched once however many loops care about it.
import { Informer } from './informer.js';
import type { ApiClient } from './rest-client.js';
import type { ResourceType } from './resources.js';

/** What is done to every informer alike, whatever its kind. */
interface AnyInformer {
  start(): unknown;
  stop(): void;
  synced(): Promise<void>;
}

export class SharedInformers {
  private readonly informers = new Map<string, AnyInformer>();
  private stopped = false;

  constructor(private readonly api: ApiClient) {}

  for<T extends { metadata?: object }>(type: ResourceType<T>): Informer<T> {
    const key = `${type.group}/${type.resource}`;
    const known = this.informers.get(key);
    if (known) return known as Informer<T>;
    const informer = new Informer(this.api.resource(type), { transform: withoutManagedFields });
    this.informers.set(key, informer);
    // Asked for during shutdown (a loop still starting): born stopped, so that starting it does nothing.
    if (this.stopped) informer.stop();
    return informer;
  }

  has(type: ResourceType<unknown>): boolean {
    return this.informers.has(`${type.group}/${type.resource}`);
  }

  start(): void {
    for (const informer of this.informers.values()) informer.start();
  }

  async synced(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.synced()));
  }

  stop(): void {
    this.stopped = true;
    for (const informer of this.informers.values()) informer.stop();
  }
}

/** Controllers never read managedFields (the server keeps them on updates), and they are bulky. */
function withoutManagedFields<O>(obj: O): O {
  const meta = (obj as { metadata?: { managedFields?: unknown } }).metadata;
  if (!meta?.managedFields) return obj;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest };
}
