// Where better-sqlite3's native addon comes from. From a checkout, better-sqlite3 finds its own in
// node_modules. Inside the single executable (a Node SEA) the addon is an embedded asset, and a native
// addon can only be loaded from a file. That file must be one nobody else could have put there or
// changed: the server runs as root, and whatever it loads runs as root. So each start writes the
// addon into a fresh directory of its own next to the database (<data-dir>/server/db, mode 0700;
// mkdtemp: a random name, mode 0700, checked to be owned by this user and not a link; never the
// shared temp dir, which may also be mounted noexec), creates the file exclusively (O_EXCL, so
// nothing planted is followed or reused), checks that what is on disk is byte for byte the embedded
// asset, and whose SHA-256 the build stamped in, loads it, and removes both at once (a loaded
// library stays mapped). A planted file can only make the start fail, never run.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const ADDON_ASSET = 'better_sqlite3.node';

/** `{ "<arch>": "<sha256 hex>" }`, stamped in by scripts/build-binary.mjs. */
declare const SKIFF_ADDON_SHA256: string | undefined;

interface SeaModule {
  isSea(): boolean;
  getRawAsset(key: string): ArrayBuffer;
}

export class AddonError extends Error {}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The digest the build stamped in for this architecture, if any. */
function stampedDigest(): string | undefined {
  if (typeof SKIFF_ADDON_SHA256 !== 'string') return undefined;
  return (JSON.parse(SKIFF_ADDON_SHA256) as Record<string, string>)[process.arch];
}

/** Throws unless `dir` is a real directory owned by this user that nobody else may enter or write. */
export function checkPrivateDir(dir: string): void {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.isSymbolicLink()) throw new AddonError(`${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new AddonError(`${dir} is owned by uid ${st.uid}, not by this process (uid ${uid})`);
  if (st.mode & 0o077) throw new AddonError(`${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)})`);
}

/**
 * Writes `bytes` as a new file in a fresh private directory under `root` and checks what landed on
 * disk against `digest`; answers the file's path and a function that removes the file and directory.
 */
export function writePrivateAddon(bytes: Uint8Array, digest: string, root: string): { file: string; remove(): void } {
  if (sha256(bytes) !== digest) throw new AddonError(`the embedded ${ADDON_ASSET} does not have the SHA-256 the build recorded`);
  const dir = fs.mkdtempSync(path.join(root, 'skiff-addon-'));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    checkPrivateDir(dir);
    const file = path.join(dir, ADDON_ASSET);
    // 'wx': O_CREAT | O_EXCL, which also refuses to follow a link put in the file's place.
    const fd = fs.openSync(file, 'wx', 0o500);
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    verifyAddonFile(file, digest);
    return { file, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

/** Throws unless `file` is a regular file of this user, not writable by others, with SHA-256 `digest`. */
export function verifyAddonFile(file: string, digest: string): void {
  checkPrivateDir(path.dirname(file));
  const st = fs.lstatSync(file);
  const uid = process.getuid?.();
  if (!st.isFile()) throw new AddonError(`${file} is not a regular file`);
  if (uid !== undefined && st.uid !== uid) throw new AddonError(`${file} is owned by uid ${st.uid}, not by this process`);
  if (st.mode & 0o022) throw new AddonError(`${file} is writable by other users`);
  if (sha256(fs.readFileSync(file)) !== digest) throw new AddonError(`${file} is not the embedded ${ADDON_ASSET}: refusing to load it`);
}

/**
 * better-sqlite3's `nativeBinding` option: undefined (find it yourself) or the addon, loaded from a
 * private directory made under `root` (the database's directory).
 */
export function nativeBinding(root: string): object | undefined {
  const sea = process.getBuiltinModule?.('node:sea') as SeaModule | undefined;
  if (!sea?.isSea()) return undefined;
  const bytes = new Uint8Array(sea.getRawAsset(ADDON_ASSET));
  const digest = stampedDigest() ?? sha256(bytes);
  const { file, remove } = writePrivateAddon(bytes, digest, root);
  try {
    const addon = { exports: {} as object };
    process.dlopen(addon, file);
    return addon.exports;
  } finally {
    remove();
  }
}
