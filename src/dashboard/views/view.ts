// What every view is given, and the live table most of them are made of.
import { type ApiClient, ApiRequestError } from '../api.js';
import { h } from '../dom.js';
import type { KubeObject } from '../watch-stream.js';

export interface ViewContext {
  api: ApiClient;
  root: HTMLElement;
  /** Aborted when the user leaves the view: its watches and streams end. */
  signal: AbortSignal;
  /** The namespace chosen in the header; empty for all namespaces. */
  namespace: string;
  /** The route after the view's name (`#/logs/<ns>/<pod>` gives [ns, pod]). */
  args: string[];
  query: URLSearchParams;
}

export type View = (ctx: ViewContext) => void;

/** Why a request failed, said for a person (a forbidden list names what the token may not do). */
export function errorText(err: unknown): string {
  if (err instanceof ApiRequestError && err.status === 403) return `Forbidden: ${err.message}`;
  if (err instanceof ApiRequestError && err.status === 401) return 'Unauthorized: the token was not accepted; sign in again';
  return err instanceof Error ? err.message : String(err);
}

/**
 * A section whose content follows a list and its watch: `render` makes it again after each
 * change (and when `refresh` is called); a failure is shown in the section instead.
 */
export function liveSection<T extends KubeObject>(
  ctx: ViewContext,
  title: string,
  path: string,
  render: (items: T[]) => Node,
): { element: HTMLElement; refresh(): void } {
  const body = h('div', { class: 'body' }, h('p', { class: 'empty' }, 'Loading…'));
  const element = h('section', { 'data-list': title }, h('h2', {}, title), body);
  let items: T[] | undefined;
  const show = () => items && body.replaceChildren(render(items));
  void ctx.api.liveList<T>(
    path,
    (now) => {
      items = now;
      show();
    },
    (err) => {
      items = undefined;
      body.replaceChildren(h('p', { class: 'error', role: 'alert' }, errorText(err)));
    },
    ctx.signal,
  );
  return { element, refresh: show };
}
