// Test images, built locally because no registry is reachable: Debian's static busybox with a few
// applet links, as an OCI layout tarball (the agent imports such tarballs from <data-dir>/agent/images).
import { writeOciImage } from '../../src/agent/oci-image.js';

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

/** Writes `<dir>/<name>.tar` for image `name` (e.g. skiff.local/busybox:1) and returns its path. */
export function buildBusyboxImage(dir: string, name: string, cmd: string[] = ['sh']): string {
  return writeOciImage(dir, {
    name,
    cmd,
    env: ['PATH=/bin'],
    files: [
      { path: 'bin/busybox', copyOf: '/bin/busybox', mode: 0o755 },
      { path: 'tmp', dir: true, mode: 0o1777 },
      ...APPLETS.map((a) => ({ path: `bin/${a}`, symlink: 'busybox' })),
    ],
  });
}
