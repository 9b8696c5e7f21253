// Where better-sqlite3's native addon comes from. From a checkout, better-sqlite3 finds its own in
// node_modules. Inside the single executable (a Node SEA) the addon is an embedded asset: it is
// written once to a content-named file in the temp dir and loaded from there, because a native
// addon can only be loaded from a file.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ADDON_ASSET = 'better_sqlite3.node';

interface SeaModule {
  isSea(): boolean;
  getRawAsset(key: string): ArrayBuffer;
}

/** better-sqlite3's `nativeBinding` option: undefined (find it yourself) or the loaded addon. */
export function nativeBinding(): object | undefined {
  const sea = process.getBuiltinModule?.('node:sea') as SeaModule | undefined;
  if (!sea?.isSea()) return undefined;
  const bytes = Buffer.from(sea.getRawAsset(ADDON_ASSET));
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `skiff-${digest}`, ADDON_ASSET);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // Written under a temporary name and renamed, so a concurrent start never loads half a file.
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, bytes, { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
  const addon = { exports: {} as object };
  process.dlopen(addon, file);
  return addon.exports;
}
