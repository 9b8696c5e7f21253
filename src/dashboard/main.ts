// The dashboard's entry: sign-in with a bearer token (kept in sessionStorage, so it ends with the
// tab), the header with its views and namespace, and the hash router that runs one view at a time.
import { ApiClient, ApiRequestError } from './api.js';
import { h } from './dom.js';
import { events } from './views/events.js';
import { logs } from './views/logs.js';
import { nodes } from './views/nodes.js';
import { overview } from './views/overview.js';
import { pods } from './views/pods.js';
import { errorText, type View } from './views/view.js';
import { workloads } from './views/workloads.js';
import { yamlView } from './views/yaml.js';

const TOKEN_KEY = 'skiff-dashboard-token';
const NAMESPACE_KEY = 'skiff-dashboard-namespace';

const VIEWS: Record<string, { title?: string; view: View }> = {
  overview: { title: 'Overview', view: overview },
  nodes: { title: 'Nodes', view: nodes },
  workloads: { title: 'Workloads', view: workloads },
  pods: { title: 'Pods', view: pods },
  events: { title: 'Events', view: events },
  yaml: { title: 'Apply YAML', view: yamlView },
  logs: { view: logs },
};

const app = document.getElementById('app')!;

function signIn(message = ''): void {
  const token = h('textarea', { name: 'token', rows: 6, placeholder: 'Bearer token (kubectl create token <service account>)' });
  const failure = h('p', { class: 'error', role: 'alert' }, message);
  const submit = async (e: Event) => {
    e.preventDefault();
    const value = token.value.trim();
    try {
      // Any authenticated request tells a good token from a bad one; discovery is open to all users.
      await new ApiClient(value).request('/api');
      sessionStorage.setItem(TOKEN_KEY, value);
      start();
    } catch (err) {
      failure.textContent = err instanceof ApiRequestError && err.status === 401 ? 'That token was not accepted' : errorText(err);
    }
  };
  app.replaceChildren(
    h(
      'form',
      { class: 'signin', onsubmit: submit },
      h('h1', {}, 'Skiff dashboard'),
      token,
      h('button', { type: 'submit' }, 'Sign in'),
      failure,
    ),
  );
}

function start(): void {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    signIn();
    return;
  }
  const api = new ApiClient(token);
  const namespace = h('input', { name: 'namespace', placeholder: 'all namespaces', value: sessionStorage.getItem(NAMESPACE_KEY) ?? '' });
  namespace.addEventListener('change', () => {
    sessionStorage.setItem(NAMESPACE_KEY, namespace.value.trim());
    route();
  });
  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    current?.abort();
    signIn();
  };
  const nav = h(
    'nav',
    {},
    Object.entries(VIEWS).flatMap(([name, v]) => (v.title ? [h('a', { href: `#/${name}`, 'data-view': name }, v.title)] : [])),
    h('label', {}, 'Namespace ', namespace),
    h('button', { type: 'button', onclick: signOut }, 'Sign out'),
  );
  const main = h('main', {});
  app.replaceChildren(h('header', {}, h('strong', {}, 'Skiff'), nav), main);

  let current: AbortController | undefined;
  const route = () => {
    current?.abort();
    current = new AbortController();
    const [where, search = ''] = location.hash.replace(/^#\/?/, '').split('?');
    const [name = 'overview', ...args] = (where ?? '').split('/').filter(Boolean).map(decodeURIComponent);
    const entry = VIEWS[name] ?? VIEWS.overview!;
    for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.view === name);
    main.replaceChildren();
    entry.view({ api, root: main, signal: current.signal, namespace: namespace.value.trim(), args, query: new URLSearchParams(search) });
  };
  window.onhashchange = route;
  route();
}

start();
