// Bundles the program into dist/skiff.js (one ES module; better-sqlite3 stays external because it
// loads a native addon from node_modules). The single executable has its own build: build-binary.
import fs from 'node:fs';
import * as esbuild from 'esbuild';
import { embedDashboard } from './dashboard-assets.mjs';
import { etcd3Proto } from './esbuild-etcd3.mjs';
import { versionDefines } from './version-defines.mjs';

await esbuild.build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/skiff.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['better-sqlite3'],
  define: versionDefines(),
  // Bundled CommonJS packages call require(); give the ES module one.
  banner: { js: "import { createRequire as __skiffRequire } from 'node:module';\nconst require = __skiffRequire(import.meta.url);" },
  logLevel: 'warning',
  plugins: [etcd3Proto, embedDashboard],
});
fs.chmodSync('dist/skiff.js', 0o755);
