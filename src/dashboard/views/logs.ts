// A pod's log, followed (?follow=true) for as long as the view is open.
import { h } from '../dom.js';
import { errorText, type View } from './view.js';

const TAIL_LINES = 1000;

export const logs: View = (ctx) => {
  const [namespace, pod] = ctx.args;
  const container = ctx.query.get('container') ?? '';
  const out = h('pre', { class: 'log', 'data-log': `${namespace}/${pod}` });
  const state = h('p', { class: 'state' }, 'following…');
  ctx.root.replaceChildren(h('h1', {}, `Logs of ${namespace}/${pod}${container ? ` (${container})` : ''}`), state, out);
  const query = new URLSearchParams({ follow: 'true', tailLines: String(TAIL_LINES), ...(container ? { container } : {}) });
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace!)}/pods/${encodeURIComponent(pod!)}/log?${query}`;
  void ctx.api
    .stream(
      path,
      (text) => {
        const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
        out.append(text);
        if (atEnd) out.scrollTop = out.scrollHeight;
      },
      ctx.signal,
    )
    .then(() => (state.textContent = 'the log ended'))
    .catch((err) => {
      if (!ctx.signal.aborted) state.replaceChildren(h('span', { class: 'error', role: 'alert' }, errorText(err)));
    });
};
