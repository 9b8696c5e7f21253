// The web dashboard's static files at /dashboard/, served to anyone: they hold no data. The app
// then calls the API with the user's bearer token, so what it shows is what that token may read.
import type { Hono } from 'hono';
import { type DashboardAssets, loadDashboardAssets } from './dashboard-assets.js';

export const DASHBOARD_PATH = '/dashboard';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

// biome-ignore lint/suspicious/noExplicitAny: mounted on the API server's app, whatever its bindings
export function dashboardRoutes(load: () => Promise<DashboardAssets> = loadDashboardAssets): (app: Hono<any>) => void {
  let assets: Promise<DashboardAssets> | undefined;
  return (app) => {
    app.get(DASHBOARD_PATH, (c) => c.redirect(`${DASHBOARD_PATH}/`, 301));
    app.get(`${DASHBOARD_PATH}/:file{[^/]*}`, async (c) => {
      const file = c.req.param('file') || 'index.html';
      // Loaded on first use, so the server's start does not wait for it.
      assets ??= load().catch((err) => {
        assets = undefined;
        throw err;
      });
      const body = (await assets)[file];
      if (body === undefined) return c.notFound();
      return c.body(body, 200, {
        'content-type': TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'",
      });
    });
  };
}
