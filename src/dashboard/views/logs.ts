// A pod's log, followed (?follow=true) for as long as the view is open; a pod of several
// containers shows its default one (kubectl's annotation, else the first) with links to the others.
import { h, link } from '../dom.js';
import type { KubeObject } from '../watch-stream.js';
import { errorText, type View } from './view.js';

const TAIL_LINES = 1000;

/** The container `kubectl logs` picks without -c: the pod's default-container annotation, else the first. */
export function defaultContainer(pod: KubeObject): string | undefined {
  const names = ((pod.spec as { containers?: { name: string }[] })?.containers ?? []).map((c) => c.name);
  const annotated = (pod.metadata.annotations as Record<string, string> | undefined)?.['kubectl.kubernetes.io/default-container'];
  return annotated && names.includes(annotated) ? annotated : names[0];
}

export const logs: View = (ctx) => {
  const [namespace, name] = ctx.args as [string, string];
  const podPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
  const title = h('h1', {}, `Logs of ${namespace}/${name}`);
  const containers = h('p', { class: 'containers' });
  const out = h('pre', { class: 'log', 'data-log': `${namespace}/${name}` });
  const state = h('p', { class: 'state' }, 'following…');
  ctx.root.replaceChildren(title, containers, state, out);
  const failed = (err: unknown) => {
    if (!ctx.signal.aborted) state.replaceChildren(h('span', { class: 'error', role: 'alert' }, errorText(err)));
  };
  void ctx.api
    .json<KubeObject>(podPath, { signal: ctx.signal })
    .then((pod) => {
      const container = ctx.query.get('container') || defaultContainer(pod) || '';
      const names = ((pod.spec as { containers?: { name: string }[] })?.containers ?? []).map((c) => c.name);
      title.textContent = `Logs of ${namespace}/${name} (${container})`;
      if (names.length > 1) {
        containers.replaceChildren(
          'Containers: ',
          ...names.map((n) =>
            n === container ? h('strong', {}, n, ' ') : h('span', {}, link(`#/logs/${namespace}/${name}?container=${n}`, n), ' '),
          ),
        );
      }
      const query = new URLSearchParams({ follow: 'true', tailLines: String(TAIL_LINES), container });
      return ctx.api.stream(
        `${podPath}/log?${query}`,
        (text) => {
          const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
          out.append(text);
          if (atEnd) out.scrollTop = out.scrollHeight;
        },
        ctx.signal,
      );
    })
    .then(() => {
      if (!ctx.signal.aborted) state.textContent = 'the log ended';
    })
    .catch(failed);
};
