// Debian's kubectl 1.20 (package kubernetes-client), the older client Skiff keeps working with. It
// conflicts with the kubectl on PATH, so it is unpacked into the repo's cache instead of installed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './run.js';

export function oldKubectl(): string {
  const dir = path.join(repoRoot, '.skiff-cache/kubernetes-client');
  const bin = path.join(dir, 'usr/bin/kubectl');
  if (fs.existsSync(bin)) return bin;
  const download = fs.mkdtempSync(path.join(os.tmpdir(), 'kubernetes-client-'));
  try {
    execFileSync('apt-get', ['download', 'kubernetes-client'], { cwd: download, stdio: 'pipe' });
    const deb = fs.readdirSync(download).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download kubernetes-client gave no .deb');
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('dpkg-deb', ['-x', path.join(download, deb), dir]);
  } finally {
    fs.rmSync(download, { recursive: true, force: true });
  }
  return bin;
}
