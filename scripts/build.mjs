// Bundles the program into dist/skiff-program.js (one CommonJS function; better-sqlite3 stays
// external because it loads a native addon from node_modules), started by dist/skiff.js
// (scripts/skiff-launcher.mjs) with V8's code cache. The single executable has its own build: build-binary.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import * as esbuild from 'esbuild';
import { embedDashboard } from './dashboard-assets.mjs';
import { etcd3Proto } from './esbuild-etcd3.mjs';
import { oneCopy } from './esbuild-one-copy.mjs';
import { versionDefines } from './version-defines.mjs';

const { outputFiles } = await esbuild.build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/skiff-program.js',
  write: false,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // No comments or indentation: a smaller file to read at every start (names stay, for stack traces).
  minifyWhitespace: true,
  external: ['better-sqlite3'],
  define: versionDefines(),
  logLevel: 'warning',
  // version.ts reads package.json through import.meta only from a checkout: a build stamps the version in.
  logOverride: { 'empty-import-meta': 'silent' },
  plugins: [etcd3Proto, embedDashboard, oneCopy],
});
// A function of the module's variables, as Node wraps a CommonJS file (the launcher calls it). ASCII
// only (esbuild leaves a few characters in regular expressions), so that the launcher reads it as
// latin1, several times faster than decoding UTF-8.
const ascii = (text) => text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const program = `(function (exports, require, module, __filename, __dirname) {${ascii(outputFiles[0].text.replace(/^#!.*/, ''))}\n})`;
const digest = createHash('sha256').update(program).digest('hex').slice(0, 16);
fs.mkdirSync('dist', { recursive: true });
for (const old of fs.readdirSync('dist')) if (/^skiff-program\..*\.cache$/.test(old)) fs.rmSync(`dist/${old}`);
fs.writeFileSync('dist/skiff-program.js', program);
const launcher = fs.readFileSync('scripts/skiff-launcher.mjs', 'utf8').replace('stamped-by-scripts/build.mjs', digest);
fs.writeFileSync('dist/skiff.js', launcher, { mode: 0o755 });
fs.chmodSync('dist/skiff.js', 0o755);
