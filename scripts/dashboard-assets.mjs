// The dashboard's files (src/dashboard): the page, its stylesheet, and its TypeScript bundled for
// the browser into one script. Used at build time by the esbuild plugin that embeds them in the
// server's bundle, and by src/apiserver/dashboard-assets.ts when the server runs from source.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/dashboard');

/** { 'index.html', 'app.js', 'app.css' } as strings. */
export async function buildDashboardAssets(esbuild) {
  const result = await esbuild.build({
    entryPoints: [path.join(DIR, 'main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
  });
  return {
    'index.html': fs.readFileSync(path.join(DIR, 'index.html'), 'utf8'),
    'app.js': result.outputFiles[0].text,
    'app.css': fs.readFileSync(path.join(DIR, 'style.css'), 'utf8'),
  };
}

/** An esbuild plugin: the server's bundle gets the assets as strings in place of building them at run time. */
export const embedDashboard = {
  name: 'embed-dashboard',
  setup(build) {
    build.onLoad({ filter: /src[\\/]apiserver[\\/]dashboard-assets\.ts$/ }, async () => {
      const assets = await buildDashboardAssets(build.esbuild);
      return { contents: `export const loadDashboardAssets = async () => (${JSON.stringify(assets)});`, loader: 'js' };
    });
  },
};
