import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../helpers/cluster.js';
import { resolveSettings } from '../../src/cli/config.js';
import { runSkiff, spawnTs, waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';

t.test('skiff version prints version, commit, node and platform', async (t) => {
  const r = await runSkiff(['version']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^skiff version v\d+\.\d+\.\d+ \([0-9a-f]{12}|unknown\)\n/);
  t.match(r.stdout, new RegExp(`node ${process.version.replace(/\./g, '\\.')}\n`));
  t.match(r.stdout, new RegExp(`platform ${process.platform}/${process.arch}`));
});

t.test('--help on each command lists its flags', async (t) => {
  const top = await runSkiff(['--help']);
  t.equal(top.code, 0);
  t.match(top.stdout, /server/);
  t.match(top.stdout, /agent/);
  const server = await runSkiff(['server', '--help']);
  t.equal(server.code, 0);
  for (const flag of [
    '--data-dir',
    '--https-listen-port',
    '--bind-address',
    '--write-kubeconfig',
    '--write-kubeconfig-mode',
    '--token',
    '--node-name',
    '--disable-agent',
    '--debug',
    '--config',
  ]) {
    t.match(server.stdout, flag);
  }
  const agent = await runSkiff(['agent', '--help']);
  t.equal(agent.code, 0);
  t.match(agent.stdout, /--server/);
  t.notMatch(agent.stdout, /--https-listen-port/);
});

t.test('bad command lines: one clear line, exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['server', '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['server', '--https-listen-port', 'abc'], /invalid value "abc" for --https-listen-port \(command line\): expected a port number/],
    [
      ['server', '--service-cidr', '10.43.0.0/33'],
      /invalid value "10.43.0.0\/33" for --service-cidr \(command line\): expected an IPv4 range such as 10.43.0.0\/16/,
    ],
    [['server', '--https-listen-port', '70000'], /--https-listen-port/],
    [['server', '--write-kubeconfig-mode', '999'], /--write-kubeconfig-mode/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['agent', '--server', 'ftp://x'], /--server .*https/],
    [
      ['agent', '--server', 'https://x:6443', '--token-file', '/nonexistent'],
      /^skiff: cannot read --token-file \/nonexistent: no such file$/m,
    ],
    [['agent', '--server', 'https://x:6443', '--token', 'a', '--token-file', '/dev/null'], /takes --token or --token-file, not both/],
    [['agent', '--server', 'https://x:6443', '--token-file', '/dev/null'], /--token-file \/dev\/null is empty/],
    [['server', '--log-format', 'xml'], /invalid value "xml" for --log-format \(command line\): expected one of json, text/],
    [['server', '--flannel-backend', 'wireguard'], /--flannel-backend \(command line\): expected one of vxlan, host-gw, none/],
    [['server', '--disable', 'servicelb,kube-proxy'], /for --disable \(command line\): "kube-proxy" is not one of coredns, servicelb/],
    [['server', '--cluster-dns', '10.43.0'], /--cluster-dns \(command line\): expected an IPv4 address/],
    [['server', '--service-node-port-range', '32767-30000'], /--service-node-port-range .*expected a port range such as 30000-32767/],
    [['server', '--node-ip', 'my-host'], /--node-ip \(command line\): expected an IPv4 address/],
    [
      ['server', '--cluster-init', '--datastore-endpoint', 'https://etcd:2379'],
      /^skiff: --cluster-init starts embedded etcd: it cannot be used with --datastore-endpoint$/m,
    ],
    [['server', '--server', 'https://x:6443'], /--server needs --token: the token of the server it joins/],
    [
      ['server', '--server', 'https://x:6443', '--token', 'a', '--datastore-endpoint', 'mysql://k3s:s3cret@tcp(db:3306)/k3s'],
      /--server joins an embedded etcd cluster: servers sharing --datastore-endpoint need only the same --token/,
    ],
    [['server', '--datastore-endpoint', 'db:5432'], /invalid --datastore-endpoint: expected postgres:\/\//],
    [
      ['server', '--disable-agent', '--datastore-endpoint', 'postgres://skiff@127.0.0.1:1/skiff', '--cluster-reset'],
      /--cluster-reset restores Skiff's SQLite datastore: with --datastore-endpoint, use the database's own backups/,
    ],
    [
      ['server', '--kube-apiserver-arg', 'audit-log-path=/x'],
      /unsupported --kube-apiserver-arg "audit-log-path=\/x": supported is admission-control-config-file/,
    ],
    [
      ['server', '--disable-agent', '--kube-apiserver-arg', 'admission-control-config-file=/nonexistent.yaml'],
      /admission config \/nonexistent.yaml: ENOENT/,
    ],
    [
      ['server', '--disable-agent', '--cluster-dns', '10.44.0.10'],
      /invalid --cluster-dns 10.44.0.10: it must be an address of --service-cidr 10.43.0.0\/16 other than its first/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = await runSkiff(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, re, args.join(' '));
    t.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
  }
});

t.test('config file problems: one clear line, exit 2', async (t) => {
  const dir = tempDir(t);
  const unknownKey = path.join(dir, 'unknown.yaml');
  fs.writeFileSync(unknownKey, 'data-dir: /tmp/x\nfavourite-colour: blue\n');
  const badYaml = path.join(dir, 'bad.yaml');
  fs.writeFileSync(badYaml, 'data-dir: [unclosed\n');
  const badValue = path.join(dir, 'value.yaml');
  fs.writeFileSync(badValue, 'https-listen-port: lots\n');
  const cases: [string, RegExp][] = [
    [path.join(dir, 'missing.yaml'), /cannot read config file .*missing\.yaml: no such file/],
    [dir, /cannot read config file .*: it is a directory/],
    [unknownKey, /unknown key "favourite-colour"/],
    [badYaml, /bad\.yaml is not valid YAML/],
    [badValue, /invalid value "lots" for --https-listen-port \(config file .*value\.yaml\)/],
  ];
  for (const [file, re] of cases) {
    const r = await runSkiff(['server', '--config', file]);
    t.equal(r.code, 2, file);
    t.match(r.stderr, re);
    t.equal(r.stderr.trim().split('\n').length, 1);
  }
});

t.test('precedence: flag > environment > config file > default', async (t) => {
  const dir = tempDir(t);
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    config,
    'https-listen-port: 7001\nbind-address: 10.0.0.1\nnode-name: from-file\n' +
      'tls-san: [a.example, b.example]\nwrite-kubeconfig-mode: "0644"\n',
  );
  const env = { SKIFF_CONFIG: config, SKIFF_BIND_ADDRESS: '10.0.0.2', SKIFF_DISABLE_AGENT: 'true' };
  const s = resolveSettings('server', { 'node-name': 'from-flag' }, env);
  t.equal(s['https-listen-port'], 7001, 'file beats default');
  t.equal(s['bind-address'], '10.0.0.2', 'env beats file');
  t.equal(s['node-name'], 'from-flag', 'flag beats file');
  t.same(s['tls-san'], ['a.example', 'b.example']);
  t.equal(s['write-kubeconfig-mode'], 0o644);
  t.equal(s['disable-agent'], true);
  t.equal(s['data-dir'], process.getuid?.() === 0 ? '/var/lib/skiff' : path.join(process.env.HOME!, '.skiff'));
  t.equal(s.debug, false);
  t.equal(resolveSettings('server', {}, { SKIFF_CONFIG: '/dev/null' })['https-listen-port'], 6443, 'the default');
});

t.test('skiff server opens its datastore under --data-dir and stops on SIGTERM', async (t) => {
  const dir = tempDir(t);
  const dataDir = path.join(dir, 'data');
  const port = String(await freePort());
  const args = (data: string) => [
    'server',
    '--data-dir',
    data,
    '--config',
    '/dev/null',
    '--https-listen-port',
    port,
    '--bind-address',
    '127.0.0.1',
    '--write-kubeconfig',
    path.join(dir, 'kubeconfig.yaml'),
    '--disable-agent',
  ];
  const child = spawnTs('src/cli/main.ts', args(dataDir));
  t.teardown(() => child.kill('SIGKILL'));
  const line = await waitForLine(child, /skiff server ready/);
  t.match(JSON.parse(line), { level: 30, msg: 'skiff server ready', dbFile: path.join(dataDir, 'server/db/state.db') });
  const second = await runSkiff(args(dataDir));
  t.equal(second.code, 1, 'a second server on the same data dir is refused');
  t.match(second.stderr, /^skiff: datastore .* is in use by another running skiff server\n$/);
  const busyPort = await runSkiff(args(path.join(dir, 'other')));
  t.equal(busyPort.code, 1);
  t.equal(busyPort.stderr, `skiff: cannot listen on 127.0.0.1:${port}: the address is already in use\n`, 'one line, no stack');
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.on('exit', r));
  t.equal(code, 0);
  t.ok(fs.existsSync(path.join(dataDir, 'server/db/state.db')));
});

t.test('a server told to stop the moment it is ready stops (its control loops were still starting)', async (t) => {
  const dir = tempDir(t);
  const child = spawnTs('src/cli/main.ts', [
    'server',
    ...['--data-dir', path.join(dir, 'data'), '--config', '/dev/null', '--https-listen-port', String(await freePort())],
    ...['--bind-address', '127.0.0.1', '--write-kubeconfig', path.join(dir, 'kubeconfig.yaml'), '--disable-agent'],
  ]);
  t.teardown(() => child.kill('SIGKILL'));
  let log = '';
  for (const out of [child.stdout!, child.stderr!]) out.on('data', (d: Buffer) => (log += d));
  await waitForLine(child, /skiff server ready/);
  child.kill('SIGTERM');
  await eventually(() => child.exitCode !== null, {
    what: 'the server to exit after SIGTERM',
    timeout: 30_000,
    explain: () => `its last log lines:\n${log.trim().split('\n').slice(-12).join('\n')}`,
  });
  t.equal(child.exitCode, 0);
});

t.test('skiff agent: missing settings are usage errors', async (t) => {
  const r = await runSkiff(['agent', '--config', '/dev/null']);
  t.equal(r.code, 2);
  t.match(r.stderr, /needs --server/);
});

t.test('a server whose node cannot run containers says what is missing, in one line', async (t) => {
  const dir = tempDir(t);
  const args = [
    'server',
    '--data-dir',
    path.join(dir, 'data'),
    '--config',
    '/dev/null',
    '--https-listen-port',
    String(await freePort()),
    '--bind-address',
    '127.0.0.1',
    '--write-kubeconfig',
    path.join(dir, 'kubeconfig.yaml'),
  ];
  const r = await runSkiff(args, { PATH: '/nonexistent' });
  t.equal(r.code, 1);
  t.equal(r.stderr.split('\n').filter((l) => l.startsWith('skiff: ')).length, 1);
  // As root the missing runtime is named; otherwise root is what is missing first (the unit run is not root).
  const OR_ELSE = 'or run the server with --disable-agent, or give --container-runtime-endpoint';
  if (process.getuid?.() === 0)
    t.match(
      r.stderr,
      new RegExp(
        "^skiff: containerd, runc, ctr and setpriv not found on PATH: install Debian's containerd, runc and util-linux packages, " +
          `${OR_ELSE}$`,
        'm',
      ),
    );
  else
    t.match(
      r.stderr,
      new RegExp(`^skiff: running pods needs root \\(containerd, mounts, pod networking\\): run skiff as root, ${OR_ELSE}$`, 'm'),
    );
});
