// Writes a volume's files the way the kubelet's atomic writer does, so a container never sees half
// of an update: the files go to a fresh hidden folder, `..data` is switched to it with one rename,
// and each top-level name is a symlink through `..data`. Nothing is written when nothing changed.
import fs from 'node:fs';
import path from 'node:path';

export interface VolumeFile {
  /** Relative path; may contain folders. */
  path: string;
  data: Buffer | string;
  mode?: number;
}

const DATA = '..data';

function unchanged(dir: string, files: VolumeFile[]): boolean {
  const current = path.join(dir, DATA);
  if (!fs.existsSync(current)) return false;
  const listed = new Set<string>();
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(current, rel), { withFileTypes: true })) {
      const p = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(p);
      else listed.add(p);
    }
  };
  walk('');
  if (listed.size !== files.length) return false;
  return files.every((f) => {
    const file = path.join(current, f.path);
    if (!listed.has(path.normalize(f.path))) return false;
    const st = fs.statSync(file);
    return (f.mode === undefined || (st.mode & 0o777) === f.mode) && Buffer.from(f.data).equals(fs.readFileSync(file));
  });
}

/** Makes `dir` hold exactly `files`; answers whether anything changed. */
export function writeAtomically(dir: string, files: VolumeFile[]): boolean {
  for (const f of files)
    if (path.isAbsolute(f.path) || path.normalize(f.path).startsWith('..'))
      throw new Error(`invalid path ${f.path}: must be relative and may not contain '..'`);
  fs.mkdirSync(dir, { recursive: true });
  if (unchanged(dir, files)) return false;
  const fresh = fs.mkdtempSync(path.join(dir, `..${new Date().toISOString().replace(/[^0-9]/g, '_')}`));
  for (const f of files) {
    const file = path.join(fresh, f.path);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, f.data, { mode: f.mode ?? 0o644 });
    if (f.mode !== undefined) fs.chmodSync(file, f.mode);
  }
  fs.chmodSync(fresh, 0o755);
  const previous = fs.existsSync(path.join(dir, DATA)) ? fs.readlinkSync(path.join(dir, DATA)) : undefined;
  const link = path.join(dir, '..data_tmp');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(path.basename(fresh), link);
  fs.renameSync(link, path.join(dir, DATA));
  const top = new Set(files.map((f) => path.normalize(f.path).split(path.sep)[0]!));
  for (const name of top) if (!fs.existsSync(path.join(dir, name))) fs.symlinkSync(path.join(DATA, name), path.join(dir, name));
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith('..') && !top.has(name)) fs.rmSync(path.join(dir, name), { force: true });
  }
  if (previous) fs.rmSync(path.join(dir, previous), { recursive: true, force: true });
  return true;
}
