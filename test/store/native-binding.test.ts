// The single executable's SQLite addon is loaded only from a file this process just wrote into a
// private directory of its own and checked: nothing planted beforehand is reused or followed.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ADDON_ASSET, checkPrivateDir, verifyAddonFile, writePrivateAddon } from '../../src/store/native-binding.js';
import { tempDir } from '../helpers/tmp.js';

const bytes = new Uint8Array(Buffer.from('\x7fELF pretend addon bytes'));
const digest = createHash('sha256').update(bytes).digest('hex');

t.test('the addon goes into a fresh private directory, is checked, and is removed after use', async (t) => {
  const root = tempDir(t);
  const a = writePrivateAddon(bytes, digest, root);
  const b = writePrivateAddon(bytes, digest, root);
  t.not(path.dirname(a.file), path.dirname(b.file), 'a new directory each time: nothing is reused');
  t.equal(path.basename(a.file), ADDON_ASSET);
  t.equal(fs.statSync(path.dirname(a.file)).mode & 0o777, 0o700, 'the directory is private');
  t.equal(fs.statSync(a.file).mode & 0o022, 0, 'the file is writable by nobody else');
  t.same(new Uint8Array(fs.readFileSync(a.file)), bytes);
  a.remove();
  b.remove();
  t.same(fs.readdirSync(root), [], 'nothing is left behind');
});

t.test('an embedded asset that does not match the digest the build stamped in is refused', async (t) => {
  const root = tempDir(t);
  t.throws(
    () => writePrivateAddon(bytes, 'f'.repeat(64), root),
    /the embedded better_sqlite3.node does not have the SHA-256 the build recorded/,
  );
  t.same(fs.readdirSync(root), []);
});

t.test('files and directories someone else could have touched are refused', async (t) => {
  const root = tempDir(t);
  const dir = path.join(root, 'd');
  fs.mkdirSync(dir, { mode: 0o700 });
  const file = path.join(dir, ADDON_ASSET);
  fs.writeFileSync(file, 'planted code', { mode: 0o500 });
  t.throws(() => verifyAddonFile(file, digest), /is not the embedded better_sqlite3\.node: refusing to load it/, 'other bytes');
  fs.writeFileSync(file, bytes);
  fs.chmodSync(file, 0o766);
  t.throws(() => verifyAddonFile(file, digest), /writable by other users/);
  fs.chmodSync(file, 0o500);
  verifyAddonFile(file, digest);
  t.pass('the right bytes, privately held, pass');
  fs.chmodSync(dir, 0o755);
  t.throws(() => checkPrivateDir(dir), /open to other users \(mode 755\)/);
  fs.chmodSync(dir, 0o700);
  const link = path.join(root, 'link');
  fs.symlinkSync(dir, link);
  t.throws(() => checkPrivateDir(link), /is not a directory/, 'a link in the directory’s place');
  const fileLink = path.join(dir, 'other.node');
  fs.symlinkSync(file, fileLink);
  t.throws(() => verifyAddonFile(fileLink, digest), /is not a regular file/, 'a link in the file’s place');
  if (process.getuid?.() === 0) {
    fs.chownSync(file, 65534, 65534);
    t.throws(() => verifyAddonFile(file, digest), /owned by uid 65534, not by this process/);
    fs.chownSync(dir, 65534, 65534);
    t.throws(() => checkPrivateDir(dir), /owned by uid 65534/);
  }
});
