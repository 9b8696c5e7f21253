// The server's bundles carry the dashboard's files: the build plugin replaces the module that
// bundles them at run time, so a bundle serves them with neither src/ nor esbuild beside it.
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { Hono } from 'hono';
import t from 'tap';
import { embedDashboard } from '../../scripts/dashboard-assets.mjs';
import { repoRoot } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

for (const format of ['esm', 'cjs'] as const) {
  t.test(`a ${format} bundle of the dashboard's routes serves the embedded files`, async (t) => {
    const outfile = path.join(tempDir(t), format === 'esm' ? 'routes.mjs' : 'routes.cjs');
    await esbuild.build({
      entryPoints: [path.join(repoRoot, 'src/apiserver/dashboard-routes.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format,
      logLevel: 'error',
      plugins: [embedDashboard],
    });
    const code = fs.readFileSync(outfile, 'utf8');
    t.notMatch(code, /dashboard-assets\.mjs|import\(esbuild\)/, 'nothing is built at run time');
    const { dashboardRoutes } = await import(outfile);
    const app = new Hono();
    dashboardRoutes()(app);
    const page = await app.request('/dashboard/');
    t.equal(page.status, 200);
    t.equal(await page.text(), fs.readFileSync(path.join(repoRoot, 'src/dashboard/index.html'), 'utf8'));
    const script = await app.request('/dashboard/app.js');
    t.match(await script.text(), /skiff-dashboard-token/, 'the app, bundled for the browser');
    t.equal((await app.request('/dashboard/app.css')).status, 200);
  });
}
