// Loaded with `node --import`: records the URL of every module the program loads (one a line) into the
// file named by $RECORD_MODULES_TO, through a module loader hook (this same file, on the hooks thread).
import fs from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

let file;

export function initialize(data) {
  file = data.file;
}

export async function load(url, context, nextLoad) {
  fs.appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}

if (isMainThread) register(import.meta.url, { data: { file: process.env.RECORD_MODULES_TO } });
