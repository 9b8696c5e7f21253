// The rest of a kubectl user's day: output formats and selectors, watching, edit/replace/diff,
// deletion that waits for finalizers, configmaps and secrets from files, run and expose.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { API_ONLY, KUBECTL_WATCHING, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';

t.test('output formats, selectors and all namespaces', async (t) => {
  const c = await startCluster(t, API_ONLY);
  await c.k('create', 'namespace', 'team');
  await c.k('-n', 'team', 'create', 'configmap', 'a', '--from-literal=k=v');
  await c.k('-n', 'team', 'create', 'configmap', 'b', '--from-literal=k=v');
  await c.k('-n', 'team', 'label', 'configmap', 'a', 'tier=front');
  t.match(YAML.parse(await c.k('-n', 'team', 'get', 'cm', 'a', '-o', 'yaml')), {
    kind: 'ConfigMap',
    metadata: { name: 'a', labels: { tier: 'front' } },
    data: { k: 'v' },
  });
  t.equal(await c.k('-n', 'team', 'get', 'cm', '-l', 'tier=front', '-o', 'name'), 'configmap/a\n');
  t.equal(await c.k('-n', 'team', 'get', 'cm', '--field-selector', 'metadata.name=b', '-o', 'jsonpath={.items[*].metadata.name}'), 'b');
  t.match(
    await c.k('-n', 'team', 'get', 'cm', '-o', 'custom-columns=NAME:.metadata.name,VALUE:.data.k', '--sort-by=.metadata.name'),
    /^NAME\s+VALUE\na\s+v\nb\s+v\n$/,
  );
  const all = await c.k('get', 'cm', '-A');
  t.match(all, /^NAMESPACE\s+NAME\s+DATA\s+AGE\n/);
  t.match(all, /\nteam\s+a\s+1\s+\d+s\n/);
  t.match(
    (await c.kubectl(['get', 'pods', '--field-selector', 'spec.nope=x'])).stderr,
    /field label not supported: spec\.nope|"spec\.nope" is not a known field selector/,
  );
});

t.test('get -w sees objects added, modified and deleted', async (t) => {
  const c = await startCluster(t, API_ONLY);
  const watcher = spawn(
    'kubectl',
    [
      '--kubeconfig',
      c.kubeconfig,
      '-v=6',
      'get',
      'configmaps',
      '-w',
      '--output-watch-events',
      '-o',
      'custom-columns=EVENT:.type,NAME:.object.metadata.name',
      '--no-headers',
    ],
    { env: { PATH: process.env.PATH, KUBECACHEDIR: path.join(c.dataDir, '..', 'kc-w') } },
  );
  t.teardown(() => void watcher.kill());
  let out = '';
  let log = '';
  watcher.stdout.on('data', (d: Buffer) => (out += d));
  watcher.stderr.on('data', (d: Buffer) => (log += d));
  await eventually(() => KUBECTL_WATCHING.test(log), { what: 'kubectl get -w to be watching', explain: () => log });
  await c.k('create', 'configmap', 'seen', '--from-literal=a=1');
  await c.k('label', 'configmap', 'seen', 'x=y');
  await c.k('delete', 'configmap', 'seen');
  await eventually(() => /DELETED\s+seen/.test(out), { timeout: 10_000, what: 'the DELETED event', explain: () => out });
  t.match(out, /ADDED\s+seen\n[\s\S]*MODIFIED\s+seen\n[\s\S]*DELETED\s+seen\n/);
});

t.test('edit, replace, diff, server-side apply of a changed deployment', async (t) => {
  const c = await startCluster(t, API_ONLY);
  const dir = path.join(c.dataDir, '..');
  await c.k('apply', '--server-side', '-f', 'test/e2e/fixtures/deployment.yaml');
  const changed = fs.readFileSync('test/e2e/fixtures/deployment.yaml', 'utf8').replace('replicas: 2', 'replicas: 4');
  fs.writeFileSync(path.join(dir, 'changed.yaml'), changed);
  const diff = await c.kubectl(['diff', '-f', path.join(dir, 'changed.yaml')]);
  t.equal(diff.code, 1, 'diff exits 1 when there are differences');
  t.match(diff.stdout, /-\s+replicas: 2\n\+\s+replicas: 4/);
  t.equal(await c.k('apply', '--server-side', '-f', path.join(dir, 'changed.yaml')), 'deployment.apps/web serverside-applied\n');
  t.equal(await c.k('get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'), '4');

  const editor = path.join(dir, 'editor.sh');
  fs.writeFileSync(editor, '#!/bin/sh\nsed -i "s/replicas: 4/replicas: 6/" "$1"\n', { mode: 0o755 });
  const edited = await c.kubectl(['edit', 'deployment', 'web'], { env: { KUBE_EDITOR: editor } });
  t.equal(edited.stdout, 'deployment.apps/web edited\n', edited.stderr);
  t.equal(await c.k('get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'), '6');

  const current = YAML.parse(await c.k('get', 'deploy', 'web', '-o', 'yaml'));
  current.spec.replicas = 1;
  t.equal((await c.kubectl(['replace', '-f', '-'], { input: YAML.stringify(current) })).stdout, 'deployment.apps/web replaced\n');
  const stale = await c.kubectl(['replace', '-f', '-'], { input: YAML.stringify(current) });
  t.equal(stale.code, 1, 'a stale resourceVersion is a conflict');
  t.match(
    stale.stderr,
    new RegExp(
      'Operation cannot be fulfilled on deployments\\.apps "web": ' +
        'the object has been modified; please apply your changes to the latest version and try again',
    ),
  );
});

t.test('delete waits for finalizers; configmaps and secrets from files', async (t) => {
  const c = await startCluster(t, API_ONLY);
  await c.kubectl(['apply', '-f', '-'], {
    input: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\n',
  });
  t.equal(await c.k('delete', 'configmap', 'held', '--wait=false'), 'configmap "held" deleted\n');
  t.match(await c.k('get', 'cm', 'held', '-o', 'jsonpath={.metadata.deletionTimestamp}'), /^\d{4}-/, 'still there, marked');
  const deleting = spawn('kubectl', ['--kubeconfig', c.kubeconfig, '-v=6', 'delete', 'configmap', 'held', '--timeout=60s'], {
    env: { PATH: process.env.PATH, KUBECACHEDIR: path.join(c.dataDir, '..', 'kc-d') },
  });
  let done = false;
  const exited = new Promise<number | null>((r) =>
    deleting.on('exit', (code) => {
      done = true;
      r(code);
    }),
  );
  let log = '';
  deleting.stderr.on('data', (d: Buffer) => (log += d));
  // kubectl has deleted and watches for the object to go: that is the wait (without it, it would have exited).
  await eventually(() => /DELETE \S+\/configmaps\/held 2\d\d [\s\S]*\bGET \S+[?&]watch=true/.test(log), {
    what: 'kubectl delete to wait for the deletion',
    explain: () => log,
  });
  t.notOk(done, 'kubectl delete waits while a finalizer remains');
  await c.k('patch', 'configmap', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}');
  t.equal(await exited, 0);
  t.match((await c.kubectl(['get', 'cm', 'held'])).stderr, /NotFound/);

  const dir = path.join(c.dataDir, '..', 'files');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'app.conf'), 'port=8080\n');
  fs.writeFileSync(path.join(dir, 'tls.key'), 'not really a key\n');
  await c.k('create', 'configmap', 'from-file', `--from-file=${path.join(dir, 'app.conf')}`);
  t.equal(await c.k('get', 'cm', 'from-file', '-o', 'jsonpath={.data.app\\.conf}'), 'port=8080\n');
  await c.k('create', 'secret', 'generic', 'from-dir', `--from-file=${dir}`);
  const secret = JSON.parse(await c.k('get', 'secret', 'from-dir', '-o', 'json'));
  t.same(Object.keys(secret.data).sort(), ['app.conf', 'tls.key']);
  t.equal(Buffer.from(secret.data['tls.key'], 'base64').toString(), 'not really a key\n');
});

t.test('run and expose', async (t) => {
  const c = await startCluster(t, API_ONLY);
  t.equal(
    await c.k('run', 'web', '--image=busybox:1.36', '--port=8080', '--labels=app=web', '--', 'httpd', '-f', '-p', '8080'),
    'pod/web created\n',
  );
  const pod = JSON.parse(await c.k('get', 'pod', 'web', '-o', 'json'));
  t.same(pod.spec.containers[0].args, ['httpd', '-f', '-p', '8080']);
  t.match(await c.k('get', 'pods'), /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nweb\s+0\/1\s+Pending\s+0\s+\d+s\n$/);
  t.equal(await c.k('expose', 'pod', 'web', '--port=80', '--target-port=8080', '--name=web'), 'service/web exposed\n');
  const svc = JSON.parse(await c.k('get', 'svc', 'web', '-o', 'json'));
  t.match(svc.spec, { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], type: 'ClusterIP' });
  t.match(svc.spec.clusterIP, /^10\.43\.\d+\.\d+$/, 'a cluster IP from --service-cidr');
  t.match(
    await c.k('get', 'svc', 'web'),
    /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\nweb\s+ClusterIP\s+10\.43\.\d+\.\d+\s+<none>\s+80\/TCP\s+\d+s\n$/,
  );
  t.equal(await c.k('delete', 'pod', 'web'), 'pod "web" deleted\n', 'an unbound pod goes at once');
});
