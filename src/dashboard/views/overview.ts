// The cluster at a glance: who is signed in, the API server's health checks, nodes and pods.
import { age, h, link } from '../dom.js';
import { listPath } from '../paths.js';
import type { KubeObject } from '../watch-stream.js';
import { errorText, liveSection, type View } from './view.js';
import { nodeReady } from './nodes.js';

export const overview: View = (ctx) => {
  const who = h('p', { class: 'who' }, '…');
  const health = h('div', { class: 'health' }, '…');
  void ctx.api
    .json<{ status: { userInfo: { username: string; groups?: string[] } } }>('/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    })
    .then((r) => who.replaceChildren(`Signed in as ${r.status.userInfo.username} (${(r.status.userInfo.groups ?? []).join(', ')})`))
    .catch((err) => who.replaceChildren(errorText(err)));
  void checkHealth(ctx.api.request.bind(ctx.api)).then((rows) => health.replaceChildren(...rows));
  const nodes = liveSection<KubeObject>(ctx, 'Nodes', listPath('v1', 'nodes', ''), (items) => {
    const ready = items.filter(nodeReady).length;
    return h('p', {}, `${ready} of ${items.length} ready `, link('#/nodes', 'details'));
  });
  const pods = liveSection<KubeObject>(ctx, 'Pods', listPath('v1', 'pods', ctx.namespace), (items) => {
    const phases = new Map<string, number>();
    for (const p of items) {
      const phase = String((p.status as { phase?: string })?.phase ?? 'Unknown');
      phases.set(phase, (phases.get(phase) ?? 0) + 1);
    }
    const newest = items
      .map((p) => String(p.metadata.creationTimestamp ?? ''))
      .sort()
      .pop();
    return h(
      'p',
      {},
      `${items.length} pods: ${[...phases].map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}`,
      newest ? `; newest ${age(newest)} old ` : ' ',
      link('#/pods', 'details'),
    );
  });
  ctx.root.replaceChildren(h('h1', {}, 'Overview'), who, h('section', {}, h('h2', {}, 'Health'), health), nodes.element, pods.element);
};

/** /livez and /readyz?verbose (each check's line), as the API server answers them. */
async function checkHealth(request: (path: string) => Promise<Response>): Promise<HTMLElement[]> {
  return Promise.all(
    ['/livez', '/readyz?verbose'].map(async (path) => {
      try {
        const text = await (await request(path)).text();
        return h('div', { class: 'ok', 'data-check': path }, h('strong', {}, `${path.split('?')[0]}: ok`), h('pre', {}, text.trim()));
      } catch (err) {
        return h(
          'div',
          { class: 'error', 'data-check': path },
          h('strong', {}, `${path.split('?')[0]}: failing`),
          h('pre', {}, errorText(err)),
        );
      }
    }),
  );
}
