// Two `skiff server` processes (own data dirs and ports) sharing one Postgres: one cluster with one
// set of CAs (the second server takes the first one's, sealed in the datastore with the token), what
// one writes the other serves and streams to its watchers, and the controllers run once, on the
// elected leader. A server with another token is refused before it serves anything.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { freePort, KUBECTL_WATCHING, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startPostgres } from '../helpers/postgres.js';
import { runSkiff } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

const execFileP = promisify(execFile);
const TOKEN = ['--token', 'shared-secret'];

t.test('two servers share one Postgres datastore', async (t) => {
  const endpoint = await (await startPostgres(t)).newDatabase();
  const a = await startCluster(t, ['--datastore-endpoint', endpoint, ...TOKEN]);
  const b = await startCluster(t, ['--datastore-endpoint', endpoint, ...TOKEN]);

  const ca = (c: { dataDir: string }, name: string) => fs.readFileSync(path.join(c.dataDir, 'server', 'tls', name), 'utf8');
  for (const name of ['server-ca.crt', 'client-ca.crt', 'service.key']) t.equal(ca(b, name), ca(a, name), `B took A's ${name}`);
  t.equal(
    fs.readFileSync(path.join(b.dataDir, 'server', 'token'), 'utf8'),
    fs.readFileSync(path.join(a.dataDir, 'server', 'token'), 'utf8'),
    'one token, with one CA hash',
  );
  // A's admin credentials, and a service account token signed by A, are good on B.
  t.match(await a.k('--server', b.url, 'get', 'namespaces', '-o', 'name'), /namespace\/default/);
  const saToken = await a.k('create', 'token', 'default');
  // Only the token (no client certificate) and B's address, trusting the CA in B's data dir.
  const { stdout: who } = await execFileP('kubectl', [
    '--kubeconfig',
    '/dev/null',
    '--server',
    b.url,
    '--token',
    saToken.trim(),
    '--certificate-authority',
    path.join(b.dataDir, 'server', 'tls', 'server-ca.crt'),
    'auth',
    'whoami',
    '-o',
    'jsonpath={.status.userInfo.username}',
  ]);
  t.equal(who, 'system:serviceaccount:default:default');

  await a.k('create', 'configmap', 'from-a', '--from-literal=k=v');
  t.equal(await b.k('get', 'configmap', 'from-a', '-o', 'jsonpath={.data.k}'), 'v', 'created through A, read through B');

  const watch = spawn('kubectl', ['--kubeconfig', b.kubeconfig, 'get', 'configmaps', '--watch', '-o', 'name', '-v=6'], {
    env: { PATH: process.env.PATH, HOME: tempDir(t) },
  });
  t.teardown(() => watch.kill());
  let out = '';
  let log = '';
  watch.stdout.on('data', (d: Buffer) => (out += d));
  watch.stderr.on('data', (d: Buffer) => (log += d));
  await eventually(() => KUBECTL_WATCHING.test(log), { what: 'kubectl get --watch on B to be watching', explain: () => log });
  await a.k('create', 'configmap', 'written-on-a', '--from-literal=k=v');
  await eventually(() => out.includes('configmap/written-on-a'), { what: "B's watch to see A's write", explain: () => out });

  await a.k('create', 'deployment', 'web', '--image=registry.invalid/web:1', '--replicas=2');
  const pods = async () => (await b.k('get', 'pods', '-l', 'app=web', '-o', 'name')).split('\n').filter(Boolean);
  await eventually(async () => (await pods()).length >= 2, { what: 'the pods of the deployment' });
  await eventually(async () => (await b.k('get', 'rs', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.replicas}')) === '2', {
    what: 'the ReplicaSet to count its pods',
  });
  t.equal((await b.k('get', 'rs', '-l', 'app=web', '-o', 'name')).trim().split('\n').length, 1, 'one ReplicaSet');
  t.equal((await pods()).length, 2, 'two pods: one controller manager made them, not one per server');

  // default/kubernetes lists every server that is up: one that stops leaves at once, one killed
  // leaves when its lease runs out (15 s).
  const servers = async (via: typeof a) =>
    (await via.k('get', 'endpoints', 'kubernetes', '-o', 'jsonpath={range .subsets[*]}{.addresses[*].ip}:{.ports[*].port} {end}')).trim();
  const both = [a.port, b.port].sort().map((p) => `127.0.0.1:${p}`);
  await eventually(async () => (await servers(a)).split(' ').sort().join(' ') === both.join(' '), {
    what: 'both servers in the endpoints',
    explain: () => servers(a),
  });
  const c = await startCluster(t, ['--datastore-endpoint', endpoint, ...TOKEN]);
  await b.stop();
  await eventually(async () => !(await servers(a)).includes(`:${b.port}`), { what: 'the stopped server to leave the endpoints' });
  t.match(await servers(a), `127.0.0.1:${c.port}`, 'the third server is listed');
  await c.stop('SIGKILL');
  await eventually(async () => (await servers(a)) === `127.0.0.1:${a.port}`, {
    what: 'the killed server to leave the endpoints when its lease expires',
    explain: () => servers(a),
  });
});

t.test("a server with another token is refused: the datastore holds another token's cluster", async (t) => {
  const endpoint = await (await startPostgres(t)).newDatabase();
  await startCluster(t, ['--datastore-endpoint', endpoint, ...TOKEN]);
  const other = await runSkiff([
    'server',
    '--data-dir',
    tempDir(t),
    '--disable-agent',
    '--config',
    '/dev/null',
    '--https-listen-port',
    String(await freePort()),
    '--datastore-endpoint',
    endpoint,
    '--token',
    'another-secret',
  ]);
  t.not(other.code, 0);
  t.match(other.stderr, /another token's cluster: start this server with the first server's --token/);
});

t.test('secrets encryption: one config for the cluster, and a secrets-encrypt change reaches a server at its next start', async (t) => {
  const endpoint = await (await startPostgres(t)).newDatabase();
  const args = ['--datastore-endpoint', endpoint, ...TOKEN, '--secrets-encryption'];
  const a = await startCluster(t, args);
  const b = await startCluster(t, args);
  const config = (c: { dataDir: string }) => fs.readFileSync(path.join(c.dataDir, 'server', 'cred', 'encryption-config.json'), 'utf8');
  t.equal(config(b), config(a), "B took A's encryption config");
  await b.k('create', 'secret', 'generic', 'from-b', '--from-literal=k=v');
  t.equal(await a.k('get', 'secret', 'from-b', '-o', 'jsonpath={.data.k}'), 'dg==', 'encrypted by B, read by A');

  const prepare = await runSkiff(['secrets-encrypt', 'prepare', '--data-dir', a.dataDir, '--server', a.url, '--config', '/dev/null']);
  t.equal(prepare.stdout, 'prepare completed successfully\n', prepare.stderr);
  t.not(config(a), config(b), 'a new key on A');
  await b.restart('SIGTERM');
  t.equal(config(b), config(a), 'B has it after its restart');
});
