// packaging/install.sh lays out the executable, the systemd unit and its environment file.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { finish, repoRoot } from '../helpers/run.js';
import { spawn } from 'node:child_process';
import { tempDir } from '../helpers/tmp.js';

function install(env: Record<string, string>) {
  return finish(
    spawn('sh', [path.join(repoRoot, 'packaging/install.sh')], { env: { PATH: process.env.PATH, SKIFF_SKIP_START: 'true', ...env } }),
  );
}

/** Stands in for the single executable: the bundled program run by this Node. */
function fakeBinary(dir: string): string {
  const file = path.join(dir, 'skiff-built');
  fs.writeFileSync(file, `#!/bin/sh\nexec ${process.execPath} ${path.join(repoRoot, 'dist/skiff.js')} "$@"\n`, { mode: 0o755 });
  return file;
}

t.test('a server install writes the binary and the skiff unit', async (t) => {
  const root = tempDir(t);
  const r = await install({ SKIFF_ROOT: root, SKIFF_BINARY: fakeBinary(root) });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /skiff installed: skiff\.service \(skiff /);
  t.equal(fs.statSync(path.join(root, 'usr/local/bin/skiff')).mode & 0o777, 0o755);
  const unit = fs.readFileSync(path.join(root, 'etc/systemd/system/skiff.service'), 'utf8');
  t.match(unit, /^ExecStart=\/usr\/local\/bin\/skiff server$/m);
  t.match(unit, /^Restart=always$/m);
  t.match(unit, /^WantedBy=multi-user\.target$/m);
});

t.test('an agent install needs a token and writes the agent unit', async (t) => {
  const root = tempDir(t);
  const binary = fakeBinary(root);
  const missing = await install({ SKIFF_ROOT: root, SKIFF_BINARY: binary, SKIFF_URL: 'https://10.0.0.1:6443' });
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'skiff install: SKIFF_URL is set: an agent also needs SKIFF_TOKEN\n');
  const r = await install({
    SKIFF_ROOT: root,
    SKIFF_BINARY: binary,
    SKIFF_URL: 'https://10.0.0.1:6443',
    SKIFF_TOKEN: 'K10abc::server:secret',
  });
  t.equal(r.code, 0, r.stderr);
  t.match(
    fs.readFileSync(path.join(root, 'etc/systemd/system/skiff-agent.service'), 'utf8'),
    /^ExecStart=\/usr\/local\/bin\/skiff agent$/m,
  );
  const envFile = path.join(root, 'etc/default/skiff-agent');
  t.equal(fs.readFileSync(envFile, 'utf8'), 'SKIFF_SERVER=https://10.0.0.1:6443\nSKIFF_TOKEN=K10abc::server:secret\n');
  t.equal(fs.statSync(envFile).mode & 0o777, 0o600, 'the token is readable by root only');
});

t.test('a missing binary is one clear line', async (t) => {
  const r = await install({ SKIFF_ROOT: tempDir(t), SKIFF_BINARY: '/nonexistent/skiff' });
  t.equal(r.code, 1);
  t.equal(r.stderr, 'skiff install: SKIFF_BINARY /nonexistent/skiff does not exist\n');
});

t.test('an executable that cannot run here is refused before any service starts', async (t) => {
  const root = tempDir(t);
  const broken = path.join(root, 'skiff-other-arch');
  fs.writeFileSync(broken, '#!/bin/sh\nexit 126\n', { mode: 0o755 });
  const r = await install({ SKIFF_ROOT: root, SKIFF_BINARY: broken, SKIFF_SKIP_START: 'false' });
  t.equal(r.code, 1);
  t.match(r.stderr, /^skiff install: the installed skiff does not run on this machine \(\w+\)\n$/);
});
