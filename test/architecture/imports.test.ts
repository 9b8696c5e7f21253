// The dependency rules of DESIGN.md and ARCHITECTURE.md, checked on the source: which folder may
// import which, and no import cycles between modules.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/run.js';

const SRC = path.join(repoRoot, 'src');

/** Every module under src/ with the src/ modules it imports (type-only imports included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const text = fs.readFileSync(full, 'utf8');
        const deps = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) =>
          path.relative(SRC, path.resolve(path.dirname(full), m[1]!)).replace(/\.js$/, '.ts'),
        );
        graph.set(
          path.relative(SRC, full),
          deps.filter((d) => !d.startsWith('..')),
        );
      }
    }
  };
  walk(SRC);
  return graph;
}

const graph = importGraph();
const folder = (module: string) => module.split('/')[0]!;

/** What each top-level folder may import besides itself (log.ts is everyone's; sd-notify.ts is the two roles'). */
const ALLOWED: Record<string, string[]> = {
  k8s: [],
  dashboard: ['k8s'], // the browser's app: it reaches the cluster only through the API
  store: ['log.ts'],
  pki: ['k8s'],
  cri: ['k8s', 'log.ts'],
  net: ['k8s', 'log.ts'],
  client: ['k8s', 'log.ts'],
  api: ['k8s', 'store', 'log.ts'],
  apiserver: ['api', 'k8s', 'store', 'pki', 'net', 'client', 'log.ts'],
  controllers: ['client', 'k8s', 'log.ts'],
  scheduler: ['client', 'k8s', 'log.ts'],
  agent: ['client', 'k8s', 'cri', 'net', 'pki', 'log.ts', 'sd-notify.ts'],
  server: ['apiserver', 'api', 'store', 'pki', 'net', 'client', 'controllers', 'scheduler', 'agent', 'k8s', 'log.ts', 'sd-notify.ts'],
  cli: ['server', 'agent', 'api', 'store', 'pki', 'client', 'cri', 'k8s', 'log.ts'],
};

t.test('each folder imports only the folders below it', async (t) => {
  const broken: string[] = [];
  for (const [module, deps] of graph) {
    const from = folder(module);
    if (!(from in ALLOWED)) continue;
    for (const dep of deps) {
      const to = folder(dep);
      const breach = `${module} imports ${dep}`;
      if (to !== from && !ALLOWED[from]!.includes(to)) broken.push(breach);
    }
  }
  t.same(broken, [], 'no import crosses a boundary the wrong way');
  t.same(
    Object.keys(ALLOWED).sort(),
    [...new Set([...graph.keys()].map(folder))].filter((f) => !f.endsWith('.ts')).sort(),
    'every folder has its rule',
  );
});

t.test('no module takes part in an import cycle', async (t) => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (m: string) => {
    state.set(m, 'open');
    stack.push(m);
    for (const d of graph.get(m) ?? []) {
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(m, 'done');
  };
  for (const m of graph.keys()) if (!state.has(m)) visit(m);
  t.same(cycles, []);
});
