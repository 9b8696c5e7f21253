// Builds Skiff as one self-contained executable per platform: dist/skiff-linux-x64 and
// dist/skiff-linux-arm64. Each is a Node.js single executable application (SEA): the official
// Node LTS binary for the target, from the npm registry's node-linux-<arch> package, with the
// bundled program and better-sqlite3's native addon (compiled for that Node and arch, crossing to
// arm64 with Debian's aarch64 toolchain) injected as a blob. Prints each file's size and how fast
// `skiff version` starts, against plain `node dist/skiff.js version` measured in the same run.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as esbuild from 'esbuild';
import { embedDashboard } from './dashboard-assets.mjs';
import { etcd3Proto } from './esbuild-etcd3.mjs';
import { oneCopy } from './esbuild-one-copy.mjs';
import { versionDefines } from './version-defines.mjs';

const require = createRequire(import.meta.url);
// Node 22 LTS: under Node 24, better-sqlite3 12's Statement destructor asserts when the garbage
// collector frees a statement (WiseLibs/better-sqlite3#1515) and aborts the process; its fix (13.x,
// N-API) needs Node 22 at least, which `npm test` does not run on yet.
const NODE_VERSION = '22.23.5';
const CACHE = path.resolve('.skiff-cache');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const ADDON_ASSET = 'better_sqlite3.node';
const QEMU = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];

const TARGETS = {
  x64: { env: {} },
  arm64: {
    env: {
      CC: 'aarch64-linux-gnu-gcc',
      CXX: 'aarch64-linux-gnu-g++',
      LINK: 'aarch64-linux-gnu-g++',
      AR: 'aarch64-linux-gnu-ar',
      STRIP: 'aarch64-linux-gnu-strip',
    },
  },
};
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(TARGETS);

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });

/** The official Node binary and headers for an arch, from the npm registry (cached). */
function nodeFor(arch) {
  const dir = path.join(CACHE, `node-linux-${arch}-${NODE_VERSION}`);
  if (!fs.existsSync(path.join(dir, 'package/bin/node'))) {
    fs.mkdirSync(dir, { recursive: true });
    const tgz = execFileSync('npm', ['pack', `node-linux-${arch}@${NODE_VERSION}`, '--pack-destination', CACHE, '--silent'], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .pop();
    run('tar', ['xzf', path.join(CACHE, tgz), '-C', dir]);
    fs.rmSync(path.join(CACHE, tgz));
  }
  return path.join(dir, 'package');
}

/** better-sqlite3's addon built against that Node for that arch (cached per version). */
function addonFor(arch, nodeDir) {
  const pkg = JSON.parse(fs.readFileSync('node_modules/better-sqlite3/package.json', 'utf8'));
  const dir = path.join(CACHE, `better-sqlite3-${pkg.version}-node${NODE_VERSION}-${arch}`);
  const addon = path.join(dir, 'build/Release/better_sqlite3.node');
  if (fs.existsSync(addon)) return addon;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const part of ['binding.gyp', 'package.json', 'src', 'deps'])
    fs.cpSync(path.join('node_modules/better-sqlite3', part), path.join(dir, part), { recursive: true });
  const gyp = require.resolve('node-gyp/bin/node-gyp.js');
  // node-gyp lets npm_config_* variables override its flags, and Debian's npm sets nodedir=/usr
  // (the system Node's headers): drop them so the addon is built for the Node inside the binary.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
  run(process.execPath, [gyp, 'rebuild', '--release', `--nodedir=${nodeDir}`, `--arch=${arch}`, `--jobs=${os.availableParallelism()}`], {
    cwd: dir,
    env: { ...env, ...TARGETS[arch].env },
  });
  run(TARGETS[arch].env.STRIP ?? 'strip', ['--strip-unneeded', addon]);
  return addon;
}

const MiB = (file) => (fs.statSync(file).size / 1024 / 1024).toFixed(1);

/** Median wall time of `cmd args` over a few runs, in ms, after one run that fills the caches. */
function startTime(cmd, args) {
  const times = [];
  for (let i = 0; i < 6; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    if (i > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)].toFixed(0);
}

fs.mkdirSync('dist', { recursive: true });
for (const arch of wanted) if (!TARGETS[arch]) throw new Error(`unknown target ${arch}: expected ${Object.keys(TARGETS).join(' or ')}`);
const addons = Object.fromEntries(wanted.map((arch) => [arch, addonFor(arch, nodeFor(arch))]));
// The executable loads the addon only if the file it wrote has the digest stamped in here.
const addonDigests = Object.fromEntries(
  Object.entries(addons).map(([arch, file]) => [arch, createHash('sha256').update(fs.readFileSync(file)).digest('hex')]),
);
await esbuild.build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/skiff-sea.cjs',
  bundle: true,
  platform: 'node',
  target: 'node22',
  // A SEA's main script is CommonJS; everything, better-sqlite3's JavaScript included, is inside.
  format: 'cjs',
  define: { ...versionDefines(), SKIFF_ADDON_SHA256: JSON.stringify(JSON.stringify(addonDigests)) },
  logLevel: 'error',
  plugins: [etcd3Proto, embedDashboard, oneCopy],
});

const hostNode = path.join(nodeFor('x64'), 'bin/node');
for (const arch of wanted) {
  const nodeDir = nodeFor(arch);
  const addon = addons[arch];
  const blob = `dist/skiff-linux-${arch}.blob`;
  const config = `dist/sea-config-${arch}.json`;
  fs.writeFileSync(
    config,
    JSON.stringify({
      main: 'dist/skiff-sea.cjs',
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      // V8's code cache of the program, so that a start does not compile it first.
      useCodeCache: true,
      assets: { [ADDON_ASSET]: addon },
    }),
  );
  // The code cache is made by the target's own Node (arm64's under qemu-user): V8 refuses another's.
  const seaNode = arch === 'x64' ? [hostNode] : [...QEMU, path.join(nodeDir, 'bin/node')];
  run(seaNode[0], [...seaNode.slice(1), '--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const out = `dist/skiff-linux-${arch}`;
  fs.copyFileSync(path.join(nodeDir, 'bin/node'), out);
  fs.chmodSync(out, 0o755);
  // binutils warns about Node's unusual .note sections; the exit status still tells failure.
  run(TARGETS[arch].env.STRIP ?? 'strip', ['--strip-all', out], { stdio: 'ignore' });
  const { inject } = require('postject');
  await inject(out, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SEA_FUSE });
  fs.rmSync(blob);
  fs.rmSync(config);
  console.log(`build-binary: ${out} ${MiB(out)} MiB`);
}

if (wanted.includes('x64')) {
  if (!fs.existsSync('dist/skiff.js')) run('npm', ['run', 'build', '--silent']);
  const baseline = startTime(process.execPath, ['dist/skiff.js', 'version']);
  const sea = startTime(path.resolve('dist/skiff-linux-x64'), ['version']);
  console.log(
    `build-binary: start of \`skiff version\`: skiff-linux-x64 ${sea} ms, ` +
      `node dist/skiff.js ${baseline} ms (baseline, this machine's Node ${process.version})`,
  );
}
if (wanted.includes('arm64')) {
  const arm = startTime(QEMU[0], [...QEMU.slice(1), path.resolve('dist/skiff-linux-arm64'), 'version']);
  console.log(`build-binary: start of \`skiff version\`: skiff-linux-arm64 under qemu-user ${arm} ms (emulated, not a Pi's speed)`);
}
