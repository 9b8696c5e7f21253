// The single executables run alone: copied into an empty folder, with no node_modules and no
// Node.js on PATH, they print their version and serve the API (arm64 under qemu-user).
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { freePort } from '../helpers/cluster.js';
import { finish, repoRoot, waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

const QEMU = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];

/** Builds the executables once per test run (the build caches Node and the addon under .skiff-cache). */
async function build(t: Test): Promise<void> {
  const r = await finish(spawn(process.execPath, ['scripts/build-binary.mjs'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }));
  t.equal(r.code, 0, `build-binary: ${r.stderr.slice(-2000)}`);
  t.comment(
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith('build-binary:'))
      .join('\n'),
  );
}

function alone(t: Test, arch: string): { dir: string; argv: string[]; env: NodeJS.ProcessEnv } {
  const dir = tempDir(t, `skiff-binary-${arch}-`);
  const file = path.join(dir, 'skiff');
  fs.copyFileSync(path.join(repoRoot, `dist/skiff-linux-${arch}`), file);
  fs.chmodSync(file, 0o755);
  // PATH holds only an empty folder: no node to fall back on.
  const env = { PATH: path.join(dir, 'empty-bin'), HOME: dir };
  fs.mkdirSync(env.PATH);
  return { dir, argv: arch === 'x64' ? [file] : [...QEMU, file], env };
}

function runOnce(argv: string[], env: NodeJS.ProcessEnv, cwd: string) {
  return finish(spawn(argv[0]!, argv.slice(1), { env, cwd }));
}

// A fresh clone builds both executables (Node fetched, the addon cross-compiled): longer than the
// suite's 300 s per file on a loaded 2-core machine. The root's timeout is the one tap enforces.
t.setTimeout(1_500_000);

t.test('single executables', async (t) => {
  await build(t);

  for (const arch of ['x64', 'arm64']) {
    await t.test(`linux-${arch}`, async (t) => {
      const { dir, argv, env } = alone(t, arch);
      const qemuPath = arch === 'arm64' ? { ...env, PATH: `${env.PATH}:/usr/bin` } : env;
      const version = await runOnce([...argv, 'version'], qemuPath, dir);
      t.equal(version.code, 0, version.stderr);
      t.match(version.stdout, /^skiff version v\d+\.\d+\.\d+ \((?:[0-9a-f]+|unknown)\)\nnode v22\.\d+\.\d+\nplatform linux\//);
      t.match(version.stdout, arch === 'x64' ? /platform linux\/x64/ : /platform linux\/arm64/);

      // Where earlier builds wrote the SQLite addon (a predictable path under the temp dir, reused when
      // present): plant code there; it must be neither loaded nor touched.
      const tmp = path.join(dir, 'tmp');
      const addon = fs.readdirSync(path.join(repoRoot, '.skiff-cache')).find((d) => d.startsWith('better-sqlite3-') && d.endsWith(arch))!;
      const bytes = fs.readFileSync(path.join(repoRoot, '.skiff-cache', addon, 'build/Release/better_sqlite3.node'));
      const planted = path.join(tmp, `skiff-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`, 'better_sqlite3.node');
      fs.mkdirSync(path.dirname(planted), { recursive: true, mode: 0o777 });
      fs.writeFileSync(planted, 'planted, not an ELF file');
      const port = await freePort();
      const kubeconfig = path.join(dir, 'kubeconfig.yaml');
      const server = spawn(
        argv[0]!,
        [
          ...argv.slice(1),
          'server',
          '--data-dir',
          path.join(dir, 'data'),
          '--config',
          '/dev/null',
          '--https-listen-port',
          String(port),
          '--bind-address',
          '127.0.0.1',
          '--write-kubeconfig',
          kubeconfig,
          '--disable-agent',
        ],
        { env: { ...qemuPath, TMPDIR: tmp }, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      t.teardown(() => void server.kill('SIGKILL'));
      await waitForLine(server, /skiff server ready/);
      t.ok(fs.existsSync(path.join(dir, 'data/server/db/state.db')), 'the SQLite datastore was created');
      t.equal(fs.readFileSync(planted, 'utf8'), 'planted, not an ELF file', 'a file planted where the addon used to go is ignored');
      t.same(fs.readdirSync(tmp), [path.basename(path.dirname(planted))], 'nothing is written to the temp dir');
      t.same(
        fs.readdirSync(path.join(dir, 'data/server/db')).filter((f) => f.startsWith('skiff-addon-')),
        [],
        'the private copy of the addon is removed once loaded',
      );
      const ns = await new Promise<string>((resolve) =>
        execFile(
          'kubectl',
          ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name'],
          { env: { PATH: process.env.PATH, KUBECACHEDIR: path.join(dir, 'kc') } },
          (err, stdout, stderr) => resolve(err ? stderr : stdout),
        ),
      );
      t.match(ns, /namespace\/kube-system/, 'the real kubectl talks to it');
      const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
      server.kill('SIGTERM');
      t.equal(await exited, 0, 'stops cleanly on SIGTERM');
    });
  }
});
