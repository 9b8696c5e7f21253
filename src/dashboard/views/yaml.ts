// One object as YAML, edited and applied (server-side apply); `#/yaml` alone starts from nothing.
import { applyRequest, editableYaml, findResource, groupVersionPath, parseManifest, type ApiResource } from '../apply-request.js';
import { h } from '../dom.js';
import type { KubeObject } from '../watch-stream.js';
import { errorText, type View } from './view.js';

export const yamlView: View = (ctx) => {
  const path = ctx.args.length ? `/${ctx.args.join('/')}` : '';
  const editor = h('textarea', { class: 'yaml', spellcheck: 'false', 'aria-label': 'YAML' });
  const result = h('p', { class: 'result' });
  const apply = async () => {
    result.className = 'result';
    result.textContent = 'applying…';
    try {
      const obj = parseManifest(editor.value);
      const list = await ctx.api.json<{ resources: ApiResource[] }>(groupVersionPath(obj.apiVersion!));
      const resource = findResource(list.resources, obj.kind!);
      if (!resource) throw new Error(`the server does not serve ${obj.kind} in ${obj.apiVersion}`);
      const req = applyRequest(obj, resource, ctx.namespace || 'default');
      const applied = await ctx.api.json<KubeObject>(req.path, req.init);
      result.className = 'result ok';
      const { namespace, name, resourceVersion } = applied.metadata;
      result.textContent = `applied ${applied.kind} ${namespace ? `${namespace}/` : ''}${name} (resourceVersion ${resourceVersion})`;
    } catch (err) {
      result.className = 'result error';
      result.textContent = errorText(err);
    }
  };
  // Any object by its API path (e.g. /api/v1/namespaces/default/configmaps/settings), shown here.
  const target = h('input', { name: 'path', size: 60, placeholder: '/api/v1/namespaces/default/configmaps/<name>', value: path });
  const open = (e: Event) => {
    e.preventDefault();
    location.hash = `#/yaml/${target.value.trim().replace(/^\/+/, '')}`;
  };
  ctx.root.replaceChildren(
    h('h1', {}, path ? `YAML of ${path}` : 'Apply YAML'),
    h('form', { class: 'open', onsubmit: open }, target, ' ', h('button', { type: 'submit' }, 'Open')),
    editor,
    h('p', {}, h('button', { type: 'button', onclick: () => void apply() }, 'Apply')),
    result,
  );
  if (path) {
    editor.value = 'loading…';
    void ctx.api
      .json<KubeObject>(path, { signal: ctx.signal })
      .then((obj) => (editor.value = editableYaml(obj)))
      .catch((err) => {
        editor.value = '';
        result.className = 'result error';
        result.textContent = errorText(err);
      });
  }
};
