// packaging/install.sh against temporary folders: a release made by scripts/release.mjs from small fake
// executables, served over HTTP on loopback; a fake systemctl on PATH that records what it is asked.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { finish, repoRoot } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

const fakeSkiff = (version: string, arch: string) => `#!/bin/sh\necho "skiff ${version} ${arch}"\n`;

/** A release per version under one folder, as a mirror keeps them (`<url>/<version>/...`). */
function makeReleases(root: string, versions: string[]): void {
  for (const version of versions) {
    const from = path.join(root, `build-${version}`);
    fs.mkdirSync(from);
    for (const arch of ['x64', 'arm64'])
      fs.writeFileSync(path.join(from, `skiff-linux-${arch}`), fakeSkiff(version, arch), { mode: 0o755 });
    execFileSync(process.execPath, ['scripts/release.mjs', from, path.join(root, 'www', version)], { cwd: repoRoot, stdio: 'pipe' });
  }
}

const root = tempDir(t, 'skiff-release-');
makeReleases(root, ['v1', 'v2']);
const www = path.join(root, 'www');
// A release whose executable is not the one its sha256sum.txt names.
fs.cpSync(path.join(www, 'v1'), path.join(www, 'corrupt'), { recursive: true });
fs.appendFileSync(path.join(www, 'corrupt', 'skiff-linux-amd64.xz'), 'x');

const requests: string[] = [];
const server = http.createServer((req, res) => {
  requests.push(req.url!);
  const file = path.join(www, path.normalize(req.url!));
  if (!file.startsWith(www) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return res.writeHead(404).end();
  res.writeHead(200).end(fs.readFileSync(file));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
t.teardown(() => server.close());
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

interface Machine {
  dir: string;
  bin: string;
  systemd: string;
  config: string;
  data: string;
  /** What the fake systemctl was asked, one call a line. */
  systemctl(): string[];
  install(env?: Record<string, string>, args?: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Runs a script install.sh wrote, in a network namespace of its own (its killall deletes devices and rules by name). */
  run(script: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Temporary folders for everything install.sh writes, and a fake systemctl (and uname, with `machine`). */
function machine(t: Test, machineArch?: string): Machine {
  const dir = tempDir(t, 'skiff-install-');
  const fakes = path.join(dir, 'fakes');
  fs.mkdirSync(fakes);
  const log = path.join(dir, 'systemctl.log');
  fs.writeFileSync(path.join(fakes, 'systemctl'), `#!/bin/sh\necho "$*" >> ${log}\n`, { mode: 0o755 });
  if (machineArch)
    fs.writeFileSync(path.join(fakes, 'uname'), `#!/bin/sh\n[ "$1" = -m ] && echo ${machineArch} && exit\nexec /bin/uname "$@"\n`, {
      mode: 0o755,
    });
  const PATH = `${fakes}:/usr/sbin:/usr/bin:/sbin:/bin`;
  const m: Machine = {
    dir,
    bin: path.join(dir, 'bin'),
    systemd: path.join(dir, 'systemd'),
    config: path.join(dir, 'etc-skiff'),
    data: path.join(dir, 'data'),
    systemctl: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []),
    install(env = {}, args = []) {
      const base = {
        PATH,
        INSTALL_SKIFF_BIN_DIR: m.bin,
        INSTALL_SKIFF_SYSTEMD_DIR: m.systemd,
        INSTALL_SKIFF_CONFIG_DIR: m.config,
        INSTALL_SKIFF_SKIP_DEPS: 'true',
        SKIFF_DATA_DIR: m.data,
        SKIFF_DOWNLOAD_URL: url,
        INSTALL_SKIFF_VERSION: 'v1',
      };
      // As `curl ... | sh -s - ARGS` runs it: the script on standard input.
      const child = spawn('sh', ['-s', '-', ...args], { env: { ...base, ...env } });
      child.stdin.end(fs.readFileSync(path.join(repoRoot, 'packaging/install.sh')));
      return finish(child);
    },
    run(script) {
      return finish(spawn('unshare', ['--net', 'sh', path.join(m.bin, script)], { env: { PATH } }));
    },
  };
  return m;
}

const read = (...p: string[]) => fs.readFileSync(path.join(...p), 'utf8');
const ls = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

t.test('release.mjs lays out the compressed executables, install.sh, air-gap bundles and their checksums', async (t) => {
  const dir = path.join(www, 'v1');
  t.same(ls(dir), [
    'install.sh',
    'sha256sum.txt',
    'skiff-airgap-amd64.tar',
    'skiff-airgap-arm64.tar',
    'skiff-linux-amd64.xz',
    'skiff-linux-arm64.xz',
  ]);
  t.equal(execFileSync('sha256sum', ['-c', 'sha256sum.txt'], { cwd: dir }).toString().split('\n').filter(Boolean).length, 5);
  t.equal(execFileSync('xzcat', [path.join(dir, 'skiff-linux-arm64.xz')]).toString(), fakeSkiff('v1', 'arm64'));
  t.same(
    execFileSync('tar', ['-tf', path.join(dir, 'skiff-airgap-amd64.tar')])
      .toString()
      .split('\n')
      .filter(Boolean)
      .sort(),
    [
      'skiff-airgap-amd64/',
      'skiff-airgap-amd64/README.txt',
      'skiff-airgap-amd64/install.sh',
      'skiff-airgap-amd64/sha256sum.txt',
      'skiff-airgap-amd64/skiff-linux-amd64.xz',
    ],
  );
  const out = execFileSync(process.execPath, ['scripts/release.mjs', path.join(root, 'build-v1'), path.join(root, 'again')], {
    cwd: repoRoot,
  }).toString();
  t.match(out, /^release: linux-amd64: download \d+\.\d MiB, installed \d+\.\d MiB$/m);
  t.match(out, /^release: linux-arm64: download /m);
});

t.test('a server install: the executable for this machine, links, unit, environment, service started', async (t) => {
  const m = machine(t);
  requests.length = 0;
  const r = await m.install({
    HTTP_PROXY: 'http://proxy:3128',
    SKIFF_TOKEN: "it's secret",
    INSTALL_SKIFF_EXEC: 'server --disable servicelb',
  });
  t.equal(r.code, 0, r.stderr);
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  t.same(requests, ['/v1/sha256sum.txt', `/v1/skiff-linux-${arch}.xz`]);
  t.equal(read(m.bin, 'skiff'), fakeSkiff('v1', process.arch));
  t.equal(fs.statSync(path.join(m.bin, 'skiff')).mode & 0o777, 0o755);
  // kubectl and ctr are on this machine's PATH (/usr/bin): as K3s, no link hides them; crictl is not.
  t.same(ls(m.bin), ['crictl', 'skiff', 'skiff-killall.sh', 'skiff-uninstall.sh']);
  t.equal(fs.readlinkSync(path.join(m.bin, 'crictl')), 'skiff');
  t.same(ls(m.systemd), ['skiff.service', 'skiff.service.env']);

  const unit = read(m.systemd, 'skiff.service');
  for (const line of [
    'Type=notify',
    'NotifyAccess=all',
    'KillMode=process',
    'Delegate=yes',
    'LimitNOFILE=1048576',
    'LimitNPROC=infinity',
    'LimitCORE=infinity',
    'TasksMax=infinity',
    'Restart=always',
    'RestartSec=5s',
    'EnvironmentFile=-/etc/default/%N',
    'EnvironmentFile=-/etc/sysconfig/%N',
    `EnvironmentFile=-${m.systemd}/skiff.service.env`,
    'ExecStartPre=-/sbin/modprobe br_netfilter',
    'ExecStartPre=-/sbin/modprobe overlay',
    `ExecStart=${m.bin}/skiff server '--disable' 'servicelb'`,
    'WantedBy=multi-user.target',
  ])
    t.ok(unit.split('\n').includes(line), line);
  const verify = await finish(spawn('systemd-analyze', ['verify', path.join(m.systemd, 'skiff.service')]));
  t.equal(verify.code, 0, `systemd-analyze verify: ${verify.stderr}`);

  const envFile = path.join(m.systemd, 'skiff.service.env');
  t.equal(fs.statSync(envFile).mode & 0o777, 0o600, 'the token is readable by root only');
  t.same(read(envFile).split('\n').sort(), [
    '',
    "HTTP_PROXY='http://proxy:3128'",
    `SKIFF_DATA_DIR='${m.data}'`,
    `SKIFF_TOKEN='it'"'"'s secret'`,
  ]);
  t.equal(
    execFileSync('sh', ['-c', `. ${envFile}; printf %s "$SKIFF_TOKEN"`]).toString(),
    "it's secret",
    'the env file is quoted as sh and systemd read it',
  );
  t.same(m.systemctl(), [`enable ${m.systemd}/skiff.service`, 'daemon-reload', 'restart skiff']);

  const shellcheck = await finish(
    spawn('shellcheck', [
      '-s',
      'sh',
      path.join(repoRoot, 'packaging/install.sh'),
      ...['skiff-killall.sh', 'skiff-uninstall.sh'].map((f) => path.join(m.bin, f)),
    ]),
  );
  t.equal(shellcheck.code, 0, `shellcheck: ${shellcheck.stdout}${shellcheck.stderr}`);

  await t.test('running it again with nothing new restarts nothing; a new version is an upgrade and a restart', async (t) => {
    const again = await m.install({
      HTTP_PROXY: 'http://proxy:3128',
      SKIFF_TOKEN: "it's secret",
      INSTALL_SKIFF_EXEC: 'server --disable servicelb',
    });
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /No change detected so skipping service start/);
    t.equal(m.systemctl().filter((c) => c.startsWith('restart')).length, 1);
    const upgrade = await m.install({
      HTTP_PROXY: 'http://proxy:3128',
      SKIFF_TOKEN: "it's secret",
      INSTALL_SKIFF_EXEC: 'server --disable servicelb',
      INSTALL_SKIFF_VERSION: 'v2',
    });
    t.equal(upgrade.code, 0, upgrade.stderr);
    t.equal(read(m.bin, 'skiff'), fakeSkiff('v2', process.arch));
    t.equal(m.systemctl().filter((c) => c === 'restart skiff').length, 2);
  });

  await t.test('uninstalling leaves nothing of what install created, nor the data and config', async (t) => {
    fs.mkdirSync(path.join(m.data, 'server'), { recursive: true });
    fs.mkdirSync(m.config);
    fs.writeFileSync(path.join(m.config, 'skiff.yaml'), 'kubeconfig');
    const r = await m.run('skiff-uninstall.sh');
    t.equal(r.code, 0, r.stderr);
    t.same(ls(m.bin), []);
    t.same(ls(m.systemd), []);
    t.notOk(fs.existsSync(m.data), 'the data dir is gone');
    t.notOk(fs.existsSync(m.config), 'the config dir is gone');
    t.same(m.systemctl().slice(-4), ['stop skiff.service', 'disable skiff', 'reset-failed skiff', 'daemon-reload']);
  });
});

t.test('a checksum mismatch is refused and nothing is installed', async (t) => {
  const m = machine(t);
  const r = await m.install({ INSTALL_SKIFF_VERSION: 'corrupt' });
  t.equal(r.code, 1);
  t.match(
    r.stderr,
    /^\[ERROR\] {2}the download of skiff-linux-\w+\.xz is corrupt: its sha256 is \w{64}, the release says \w{64}; nothing was installed\n$/,
  );
  t.same(ls(m.bin), []);
  t.same(ls(m.systemd), []);
  t.same(m.systemctl(), []);
});

t.test('the architecture decides the file: aarch64 fetches arm64, 32-bit ARM is refused with the way out', async (t) => {
  const arm = machine(t, 'aarch64');
  requests.length = 0;
  const r = await arm.install({ INSTALL_SKIFF_SKIP_START: 'true' });
  t.equal(r.code, 0, r.stderr);
  t.same(requests, ['/v1/sha256sum.txt', '/v1/skiff-linux-arm64.xz']);
  t.equal(read(arm.bin, 'skiff'), fakeSkiff('v1', 'arm64'));
  t.same(arm.systemctl(), [`enable ${arm.systemd}/skiff.service`, 'daemon-reload'], 'INSTALL_SKIFF_SKIP_START: enabled, not started');

  const pi = machine(t, 'armv7l');
  const refused = await pi.install();
  t.equal(refused.code, 1);
  t.equal(
    refused.stderr,
    '[ERROR]  Skiff has no build for 32-bit ARM: install a 64-bit OS (Raspberry Pi OS 64-bit runs on a Pi 3, 4 and 5)\n',
  );
});

t.test('an agent: SKIFF_URL and SKIFF_TOKEN make skiff-agent.service, which joins that server', async (t) => {
  const m = machine(t);
  const noToken = await m.install({ SKIFF_URL: 'https://10.0.0.1:6443' });
  t.equal(noToken.code, 1);
  t.match(noToken.stderr, /an agent needs SKIFF_TOKEN/);
  const http = await m.install({ SKIFF_URL: 'http://10.0.0.1:6443', SKIFF_TOKEN: 't' });
  t.match(http.stderr, /SKIFF_URL must be an https:\/\/ URL/);
  t.same(ls(m.bin), [], 'nothing installed before the settings are known good');

  const r = await m.install(
    { SKIFF_URL: 'https://10.0.0.1:6443', SKIFF_TOKEN: 'K10abc::server:secret', INSTALL_SKIFF_SKIP_ENABLE: 'true' },
    ['--node-label', 'room=attic'],
  );
  t.equal(r.code, 0, r.stderr);
  t.match(read(m.systemd, 'skiff-agent.service'), new RegExp(`^ExecStart=${m.bin}/skiff agent '--node-label' 'room=attic'$`, 'm'));
  t.same(read(m.systemd, 'skiff-agent.service.env').split('\n').sort(), [
    '',
    `SKIFF_DATA_DIR='${m.data}'`,
    "SKIFF_SERVER='https://10.0.0.1:6443'",
    "SKIFF_TOKEN='K10abc::server:secret'",
  ]);
  t.ok(fs.existsSync(path.join(m.bin, 'skiff-agent-uninstall.sh')));
  t.same(m.systemctl(), [], 'INSTALL_SKIFF_SKIP_ENABLE: systemctl is not asked');
});

t.test('air-gap: the executable already in place, or the bundle as the download folder', async (t) => {
  const m = machine(t);
  fs.mkdirSync(m.bin);
  fs.writeFileSync(path.join(m.bin, 'skiff'), fakeSkiff('copied', 'by hand'), { mode: 0o755 });
  requests.length = 0;
  const r = await m.install({ INSTALL_SKIFF_SKIP_DOWNLOAD: 'true', SKIFF_DOWNLOAD_URL: 'http://unreachable.invalid' });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Installing skiff copied by hand/);
  t.same(requests, []);
  t.ok(fs.existsSync(path.join(m.systemd, 'skiff.service')));

  const bundle = machine(t);
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  execFileSync('tar', ['-xf', path.join(www, 'v1', `skiff-airgap-${arch}.tar`), '-C', bundle.dir]);
  const b = await bundle.install({ SKIFF_DOWNLOAD_URL: `file://${bundle.dir}/skiff-airgap-${arch}`, INSTALL_SKIFF_VERSION: '' });
  t.equal(b.code, 0, b.stderr);
  t.equal(read(bundle.bin, 'skiff'), fakeSkiff('v1', process.arch));
});
