// The web dashboard in a real browser (Debian's chromium through playwright-core) against a real
// server with its node: sign in with a service account token, nodes, workloads and pods updated
// live, a followed log, events, a YAML edit applied, and a token whose RBAC shows only its
// namespace. Screenshots of each step are kept in .tap/dashboard/ (ignored by git).
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { repoRoot } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(repoRoot, '.tap', 'dashboard');
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser of its own with a fresh profile, closed at the end; the cluster's self-signed certificate is accepted. */
async function browser(t: Test): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(tempDir(t, 'skiff-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
  });
  t.teardown(() => context.close());
  return context;
}

async function screenshot(t: Test, page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `dashboard-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  t.comment(`screenshot: ${path.relative(repoRoot, file)}`);
}

async function signIn(page: Page, cluster: Cluster, token: string): Promise<void> {
  await page.goto(`${cluster.url}/dashboard/`);
  await page.fill('textarea[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('header nav');
}

/** The text of a view's list section once it has loaded (a table, "None", or an error). */
const sectionText = (page: Page, title: string) => text(page, `section[data-list="${title}"] .body`);

/** The text content of the first element `selector` finds. */
const text = async (page: Page, selector: string) => (await page.locator(selector).first().textContent()) ?? '';

t.test('the dashboard in a browser: nodes, pods live, logs, events, YAML apply, and RBAC', async (t) => {
  const c = await startCluster(t, [], { agent: true });
  const nodeName = await eventually(async () => {
    const nodes = JSON.parse(await c.k('get', 'nodes', '-o', 'json')).items;
    const ready = nodes[0]?.status?.conditions?.some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True');
    return ready ? (nodes[0].metadata.name as string) : undefined;
  });
  // An admin token, and one that may only read pods in the namespace team.
  await c.k('create', 'serviceaccount', 'dash-admin');
  await c.k('create', 'clusterrolebinding', 'dash-admin', '--clusterrole=cluster-admin', '--serviceaccount=default:dash-admin');
  await c.k('create', 'namespace', 'team');
  await c.k('create', 'serviceaccount', 'viewer', '-n', 'team');
  await c.k('create', 'role', 'pod-reader', '-n', 'team', '--verb=get,list,watch', '--resource=pods');
  await c.k('create', 'rolebinding', 'viewer', '-n', 'team', '--role=pod-reader', '--serviceaccount=team:viewer');
  const adminToken = (await c.k('create', 'token', 'dash-admin')).trim();
  const viewerToken = (await c.k('create', 'token', 'viewer', '-n', 'team')).trim();
  t.teardown(async () => {
    // Pods go through the API before the node stops.
    await c.kubectl(['delete', 'deployment', 'web', '--ignore-not-found', '--wait=true']);
    await c.kubectl(['delete', 'pod', '--all', '-n', 'default', '--grace-period=1', '--wait=true']);
    await c.kubectl(['delete', 'pod', '--all', '-n', 'team', '--grace-period=1', '--wait=true']);
  });

  t.match(await c.k('get', '--raw', '/dashboard/'), /<title>Skiff dashboard<\/title>/, 'the page is served at /dashboard/');
  const context = await browser(t);
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('pageerror', (err) => consoleErrors.push(err.message));

  await t.test('a bad token is refused; the admin token signs in', async (t) => {
    await page.goto(`${c.url}/dashboard/`);
    await page.fill('textarea[name=token]', 'not-a-token');
    await page.click('button[type=submit]');
    await page.waitForSelector('form.signin [role=alert]:has-text("not accepted")');
    await signIn(page, c, adminToken);
    await page.waitForSelector('p.who:has-text("system:serviceaccount:default:dash-admin")');
    await page.waitForSelector('[data-check="/readyz?verbose"].ok');
    t.match(await text(page, '[data-check="/livez"]'), /\/livez: ok/, 'health from /livez');
    await page.waitForSelector('section[data-list="Nodes"] .body:has-text("1 of 1 ready")');
    await screenshot(t, page, '1-overview');
  });

  await t.test('the nodes page lists the node', async (t) => {
    await page.goto(`${c.url}/dashboard/#/nodes`);
    await page.waitForSelector(`section[data-list="Nodes"] td:has-text("${nodeName}")`);
    const row = `section[data-list="Nodes"] tr:has-text("${nodeName}")`;
    t.equal(await page.locator(`${row} td:text-is("Ready")`).count(), 1, 'Ready');
    t.match(await text(page, row), /control-plane/);
    // Usage when metrics.k8s.io answers, else said to be unavailable.
    const note = await eventually(async () => {
      const note = await text(page, 'p.metrics');
      return note.includes('…') ? undefined : note;
    });
    if (note.includes('from metrics.k8s.io')) {
      t.match(await text(page, row), /\d+m? \(\d+%\).*\d+(\.\d)?[KMG]i \(\d+%\)/, 'CPU and memory used, with their share');
    } else {
      t.equal(note, 'metrics unavailable');
      t.not((await c.kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/nodes'])).code, 0, 'metrics.k8s.io does not answer');
    }
    await screenshot(t, page, '2-nodes');
  });

  await t.test('a pod created with kubectl appears on the pods page without a reload; its log is followed', async (t) => {
    await page.goto(`${c.url}/dashboard/#/pods`);
    await page.waitForSelector('section[data-list="Pods"] .body :is(table, p)');
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    await c.k(
      'run',
      'talker',
      `--image=${BUSYBOX}`,
      '--restart=Never',
      '--',
      'sh',
      '-c',
      'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 1; done',
    );
    await page.waitForSelector('[data-pod="default/talker"]');
    await page.waitForSelector('section[data-list="Pods"] tr:has([data-pod="default/talker"]) td:text-is("Running")', { timeout: 90_000 });
    t.ok(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), 'seen live, the page was not reloaded');
    await screenshot(t, page, '3-pods');
    await page.click('section[data-list="Pods"] tr:has([data-pod="default/talker"]) a:text-is("logs")');
    await page.waitForSelector('pre[data-log="default/talker"]:has-text("line 0")');
    const first = await text(page, 'pre[data-log]');
    const seen = Number(first.trim().split('\n').pop()!.replace('line ', ''));
    // New lines arrive on the open stream.
    await page.waitForSelector(`pre[data-log="default/talker"]:has-text("line ${seen + 2}")`, { timeout: 30_000 });
    t.pass('the log goes on growing while the view is open');
    await screenshot(t, page, '4-logs');
  });

  await t.test('events of the pod', async (t) => {
    await page.goto(`${c.url}/dashboard/#/events`);
    await page.waitForSelector('section[data-list="Events"] tr:has-text("pod/talker"):has-text("Started")');
    t.match(await sectionText(page, 'Events'), /Scheduled/);
    await screenshot(t, page, '5-events');
  });

  await t.test('a deployment on the workloads page, and its pods', async (t) => {
    await page.goto(`${c.url}/dashboard/#/workloads`);
    await page.waitForSelector('section[data-list="Deployments"] .body :is(table, p)');
    await c.k('create', 'deployment', 'web', `--image=${BUSYBOX}`, '--', 'sleep', '3600');
    await page.waitForSelector('section[data-list="Deployments"] tr:has-text("web") td:text-is("1/1")', { timeout: 90_000 });
    await screenshot(t, page, '6-workloads');
    await page.click('section[data-list="Deployments"] tr:has-text("web") a:text-is("pods")');
    await page.waitForSelector('section[data-list="Pods"] [data-pod^="default/web-"]');
    t.notOk(await page.locator('[data-pod="default/talker"]').count(), "only the deployment's pods");
  });

  await t.test('a ConfigMap edited as YAML and applied', async (t) => {
    await c.k('create', 'configmap', 'settings', '--from-literal=color=red');
    await page.click('header a:text-is("Apply YAML")');
    await page.fill('form.open input[name=path]', '/api/v1/namespaces/default/configmaps/settings');
    await page.click('form.open button:text-is("Open")');
    const editor = page.locator('textarea.yaml');
    await eventually(async () => (await editor.inputValue()).includes('color: red'));
    await editor.fill((await editor.inputValue()).replace('color: red', 'color: green\n  size: large'));
    await page.click('button:text-is("Apply")');
    await page.waitForSelector('p.result.ok:has-text("applied ConfigMap default/settings")');
    await screenshot(t, page, '7-yaml');
    const cm = JSON.parse(await c.k('get', 'configmap', 'settings', '-o', 'json'));
    t.same(cm.data, { color: 'green', size: 'large' }, 'kubectl sees the applied edit');
    await editor.fill('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata: [not, a, map]\n');
    await page.click('button:text-is("Apply")');
    await page.waitForSelector('p.result.error');
    t.match(await text(page, 'p.result'), /data/, "the server's refusal is shown");
  });

  await t.test('a token that may only read pods in team sees only those', async (t) => {
    await c.k('run', 'helper', '-n', 'team', `--image=${BUSYBOX}`, '--restart=Never', '--', 'sleep', '3600');
    await page.click('header button:text-is("Sign out")');
    await signIn(page, c, viewerToken);
    await page.goto(`${c.url}/dashboard/#/nodes`);
    await page.waitForSelector('section[data-list="Nodes"] [role=alert]');
    t.match(await sectionText(page, 'Nodes'), /Forbidden: .*cannot list resource "nodes"/, 'nodes are forbidden to it');
    await page.goto(`${c.url}/dashboard/#/pods`);
    await page.waitForSelector('section[data-list="Pods"] [role=alert]');
    t.match(await sectionText(page, 'Pods'), /Forbidden: .*cannot list resource "pods".*cluster scope/, 'pods of all namespaces too');
    await screenshot(t, page, '8-forbidden');
    await page.fill('header input[name=namespace]', 'team');
    await page.press('header input[name=namespace]', 'Enter');
    await page.waitForSelector('[data-pod="team/helper"]');
    t.notOk(await page.locator('[data-pod^="default/"]').count(), 'nothing of default');
    await screenshot(t, page, '9-restricted');
  });

  t.same(consoleErrors, [], 'no uncaught errors in the page');
});

t.test('--disable dashboard: /dashboard/ is not found', async (t) => {
  const c = await startCluster(t, ['--disable', 'dashboard']);
  const page = await c.kubectl(['get', '--raw', '/dashboard/']);
  t.not(page.code, 0);
  t.match(page.stderr, /NotFound|could not find/);
  t.notMatch(page.stdout, /dashboard/i, 'no trace of it');
});
