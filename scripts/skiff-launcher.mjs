#!/usr/bin/env node
// dist/skiff.js: runs the bundled program (dist/skiff-program.js, a CommonJS function) with V8's code
// cache beside it, so that a start after the first one skips compiling the 7 MB program and the
// functions its start-up ran. Node's own compile cache (module.enableCompileCache) needs Node 22.1;
// vm.Script's cachedData works on every Node Skiff supports. The build stamps in the program's
// digest: a cache is only ever read for the program it was made from (V8 checks the length alone).
// The first start, or one whose cache V8 refused, writes it a few seconds in, once the start-up's
// functions are compiled; where dist/ is read-only, there is none.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const PROGRAM_DIGEST = 'stamped-by-scripts/build.mjs';
const WRITE_AFTER_MS = 10_000;

const file = fileURLToPath(new URL('./skiff-program.js', import.meta.url));
const cacheFile = fileURLToPath(new URL(`./skiff-program.${PROGRAM_DIGEST}.cache`, import.meta.url));
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  // no cache yet
}
// The build writes it in ASCII: read as latin1, it needs no UTF-8 decoding.
const script = new vm.Script(fs.readFileSync(file, 'latin1'), {
  filename: file,
  cachedData,
  importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
if (!cachedData || script.cachedDataRejected)
  setTimeout(() => {
    const tmp = `${cacheFile}.${process.pid}`;
    try {
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }, WRITE_AFTER_MS).unref();
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
