// Events, newest first, live.
import { age, h, table } from '../dom.js';
import { listPath } from '../paths.js';
import type { KubeObject } from '../watch-stream.js';
import { liveSection, type View } from './view.js';

interface EventFields {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string;
  eventTime?: string;
  involvedObject?: { kind?: string; name?: string };
}

const lastSeen = (e: EventFields & KubeObject) => e.lastTimestamp ?? e.eventTime ?? String(e.metadata.creationTimestamp ?? '');

export const events: View = (ctx) => {
  const section = liveSection<EventFields & KubeObject>(ctx, 'Events', listPath('v1', 'events', ctx.namespace), (items) =>
    table(
      ['Last seen', 'Type', 'Reason', 'Object', 'Message', 'Count'],
      [...items]
        .sort((a, b) => lastSeen(b).localeCompare(lastSeen(a)))
        .map((e) => [
          age(lastSeen(e)),
          e.type,
          e.reason,
          `${e.involvedObject?.kind?.toLowerCase()}/${e.involvedObject?.name}`,
          e.message,
          e.count ?? 1,
        ]),
      'No events',
    ),
  );
  ctx.root.replaceChildren(h('h1', {}, 'Events'), section.element);
};
