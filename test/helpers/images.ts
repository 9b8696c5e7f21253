// Test images, built locally because no registry is reachable: Debian's static busybox with a few
// applet links, as an OCI layout tarball (the agent imports such tarballs from <data-dir>/agent/images).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { type ImageFile, writeOciImage } from '../../src/agent/oci-image.js';

const APPLETS = [
  'sh',
  'sleep',
  'httpd',
  'echo',
  'cat',
  'ls',
  'env',
  'wget',
  'hostname',
  'ip',
  'true',
  'false',
  'id',
  'mkdir',
  'touch',
  'nc',
  'date',
  'grep',
  'test',
  'kill',
  'ps',
  'tar',
  'rm',
  'pwd',
  'mount',
  'nslookup',
];

const BUSYBOX_FILES: ImageFile[] = [
  { path: 'bin/busybox', copyOf: '/bin/busybox', mode: 0o755 },
  { path: 'tmp', dir: true, mode: 0o1777 },
  ...APPLETS.map((a) => ({ path: `bin/${a}`, symlink: 'busybox' })),
];

/** Writes `<dir>/<name>.tar` for image `name` (e.g. skiff.local/busybox:1) and returns its path. */
export function buildBusyboxImage(dir: string, name: string, cmd: string[] = ['sh']): string {
  return writeOciImage(dir, { name, cmd, env: ['PATH=/bin'], files: BUSYBOX_FILES });
}

/**
 * The busybox image plus the host's curl with the shared libraries it loads (busybox's wget
 * crashes here and speaks no TLS): for tests that call HTTPS, the API among them, from a pod.
 */
export function buildCurlImage(dir: string, name: string): string {
  const curl = '/usr/bin/curl';
  const libs = [
    ...execFileSync('ldd', [curl])
      .toString()
      .matchAll(/(\/\S+\.so[^\s]*)/g),
  ].map((m) => m[1]!);
  const files = [...new Set(libs)]
    .filter((f) => fs.existsSync(f))
    .map((f) => ({ path: f.slice(1), copyOf: fs.realpathSync(f), mode: 0o755 }));
  return writeOciImage(dir, {
    name,
    cmd: ['sh'],
    env: ['PATH=/bin:/usr/bin'],
    files: [...BUSYBOX_FILES, { path: 'usr/bin/curl', copyOf: curl, mode: 0o755 }, ...files],
  });
}
