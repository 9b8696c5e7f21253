// Following containerd's events for the CRI's namespace (k8s.io): a container's task started or
// exited, a container or image deleted. The stream is subscribed again, with backoff,
// whenever it ends (containerd restarted, socket gone); `connected` is called once each subscription
// is in place, since events may have been missed while there was none and the follower must look again.
import { log } from '../log.js';
import type { CriClient, CriMessage } from './client.js';

export type RuntimeEvent =
  | { topic: '/tasks/start' | '/containers/delete'; containerId: string }
  /** A process ended: the container's own (`init`) or one exec'd into it (probes, kubectl exec). */
  | { topic: '/tasks/exit' | '/tasks/delete'; containerId: string; init: boolean }
  | { topic: '/images/delete'; image: string };

export const CRI_NAMESPACE = 'k8s.io';
// No /tasks/oom: an OOM kill of a container shows as its exit, with the reason the CRI records.
const TOPICS = ['/tasks/start', '/tasks/exit', '/tasks/delete', '/containers/delete', '/images/delete'];
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

export interface EventHandlers {
  event(e: RuntimeEvent): void;
  /** A new subscription is in place: what happened before it may have been missed. */
  connected(): void;
}

function runtimeEvent(topic: string, e: CriMessage): RuntimeEvent | undefined {
  switch (topic) {
    case '/tasks/start':
      return { topic, containerId: e.containerId as string };
    case '/containers/delete':
      return { topic, containerId: e.id as string };
    case '/tasks/exit':
    case '/tasks/delete':
      // The init process's id is the container's; an exec'd process has its own (TaskDelete's is empty for init).
      return { topic, containerId: e.containerId as string, init: !e.id || e.id === e.containerId };
    case '/images/delete':
      return { topic, image: e.name as string };
  }
  return undefined;
}

/** Follows the events until `signal` aborts. */
export function followEvents(cri: CriClient, handlers: EventHandlers, signal: AbortSignal): void {
  const filters = TOPICS.map((topic) => `namespace==${CRI_NAMESPACE},topic=="${topic}"`);
  let retryMs = RETRY_MIN_MS;
  const subscribe = () => {
    if (signal.aborted) return;
    const stream = cri.subscribeEvents(filters);
    const cancel = () => stream.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    let ended = false;
    const since = Date.now();
    const again = (why: string) => {
      if (ended) return;
      ended = true;
      signal.removeEventListener('abort', cancel);
      if (signal.aborted) return;
      if (Date.now() - since > RETRY_MAX_MS) retryMs = RETRY_MIN_MS;
      log.warn({ err: why, retryMs }, 'containerd event stream ended; subscribing again');
      setTimeout(subscribe, retryMs).unref();
      retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
    };
    stream.on('data', (m: { topic: string; event: CriMessage }) => {
      const e = runtimeEvent(m.topic, m.event);
      if (e) handlers.event(e);
    });
    stream.on('error', (err: Error) => again(err.message));
    stream.on('end', () => again('closed by containerd'));
    // containerd sends nothing until the first event: a call answered after the subscription went
    // out on the same connection says it is in place.
    cri.version().then(
      () => ended || handlers.connected(),
      () => stream.cancel(),
    );
  };
  subscribe();
}
