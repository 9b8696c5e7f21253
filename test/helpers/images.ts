// Test images, built locally because no registry is reachable: an OCI image layout tarball whose
// single layer is Debian's static busybox with a few applet links (the agent imports such tarballs
// from <data-dir>/agent/images).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const APPLETS = ['sh', 'sleep', 'httpd', 'echo', 'cat', 'ls', 'env', 'wget', 'hostname', 'ip', 'true', 'false'];

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Writes `<dir>/<file>.tar` for image `name` (e.g. skiff.local/busybox:1) and returns its path. */
export function buildBusyboxImage(dir: string, name: string, cmd: string[] = ['sh']): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-image-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(rootfs, 'tmp'));
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
    fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
    for (const applet of APPLETS) fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
    const layerFile = path.join(work, 'layer.tar');
    execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', rootfs, '-cf', layerFile, '.']);
    const layer = fs.readFileSync(layerFile);
    const blobs = path.join(work, 'layout/blobs/sha256');
    fs.mkdirSync(blobs, { recursive: true });
    const put = (data: Buffer | string) => {
      const digest = sha256(data);
      fs.writeFileSync(path.join(blobs, digest), data);
      return { digest: `sha256:${digest}`, size: Buffer.byteLength(data) };
    };
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const config = JSON.stringify({ architecture: arch, os: 'linux', config: { Env: ['PATH=/bin'], Cmd: cmd }, rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] } });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...put(layer) }],
    });
    const tag = name.slice(name.lastIndexOf(':') + 1);
    const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...put(manifest), annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag } }] };
    fs.writeFileSync(path.join(work, 'layout/index.json'), JSON.stringify(index));
    fs.writeFileSync(path.join(work, 'layout/oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    fs.mkdirSync(dir, { recursive: true });
    const out = path.join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.tar`);
    execFileSync('tar', ['-C', path.join(work, 'layout'), '-cf', out, 'oci-layout', 'index.json', 'blobs']);
    return out;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
