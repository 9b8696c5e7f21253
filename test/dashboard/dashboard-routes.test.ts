// The dashboard's files at /dashboard/: served without credentials (they hold no data) while the
// API still asks for them, and not served at all with --disable dashboard.
import t from 'tap';
import { DEFAULT_CLUSTER_CONFIG } from '../../src/k8s/cluster-config.js';
import { apiHarness } from '../apiserver/harness.js';

t.test('the page, its script and its stylesheet, to anyone', async (t) => {
  const h = await apiHarness(t);
  const anonymous = (path: string) => Promise.resolve(h.app.fetch(new Request(`https://skiff.test${path}`), {}));
  const page = await anonymous('/dashboard/');
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.match(await page.text(), /<script src="app.js"><\/script>/);
  const script = await anonymous('/dashboard/app.js');
  t.equal(script.status, 200);
  t.match(script.headers.get('content-type'), /^text\/javascript/);
  t.match(await script.text(), /skiff-dashboard-token/, 'the bundled app');
  t.match((await anonymous('/dashboard/app.css')).headers.get('content-type'), /^text\/css/);
  t.match(page.headers.get('content-security-policy'), /script-src 'self'/);
  const bare = await anonymous('/dashboard');
  t.equal(bare.status, 301);
  t.equal(bare.headers.get('location'), '/dashboard/');
  t.equal((await anonymous('/dashboard/secret.txt')).status, 404, 'only its own files');
  t.equal((await anonymous('/api/v1/namespaces/default/configmaps')).status, 401, 'the API still wants credentials');
});

t.test('--disable dashboard: nothing at /dashboard/', async (t) => {
  const h = await apiHarness(t, { cluster: { ...DEFAULT_CLUSTER_CONFIG, disabled: ['dashboard'] } });
  for (const path of ['/dashboard/', '/dashboard/app.js', '/dashboard']) {
    const res = await h.raw('GET', path);
    t.equal(res.status, 404, path);
    t.notMatch(await res.text(), /skiff-dashboard/, `${path}: no trace`);
  }
});
