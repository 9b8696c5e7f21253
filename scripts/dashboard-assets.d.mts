// Types of dashboard-assets.mjs, for the tests that build with its plugin.
import type { Plugin } from 'esbuild';

/** The dashboard's files ('index.html', 'app.js', 'app.css') as strings, the script bundled by `esbuild`. */
export function buildDashboardAssets(esbuild: typeof import('esbuild')): Promise<Record<string, string>>;

/** Replaces src/apiserver/dashboard-assets.ts in a bundle by the files themselves. */
export const embedDashboard: Plugin;
