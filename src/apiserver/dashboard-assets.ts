// The dashboard's files. In dist/skiff.js and the single executable this module is replaced at
// build time by the files themselves (scripts/dashboard-assets.mjs, embedDashboard); run from
// source (tsx: development and tests), it bundles src/dashboard with esbuild on first use.

export type DashboardAssets = Record<string, string>;

export async function loadDashboardAssets(): Promise<DashboardAssets> {
  // Not an import esbuild or tsc follows: the builder and esbuild exist only beside the source.
  const builder = new URL('../../scripts/dashboard-assets.mjs', import.meta.url).href;
  const esbuild = 'esbuild';
  const [{ buildDashboardAssets }, bundler] = await Promise.all([import(builder), import(esbuild)]);
  return buildDashboardAssets(bundler);
}
