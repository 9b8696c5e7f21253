// OCI image layout tarballs, as `ctr images import` takes them: one layer built from a list of files.
// The agent builds its own pause image this way (no registry may be reachable), and the tests their
// busybox images. Debian's tar packs the layer and the layout, deterministically.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type ImageFile = { path: string; mode?: number } & (
  | { data: Buffer | string }
  | { copyOf: string }
  | { symlink: string }
  | { dir: true }
);

export interface ImageSpec {
  /** Full reference, e.g. skiff.local/pause:1. */
  name: string;
  files: ImageFile[];
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  /** GOARCH-style (amd64, arm64); default this machine's. */
  architecture?: string;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export const goArch = (arch: string = process.arch) => (arch === 'x64' ? 'amd64' : arch);

/** Writes the image as `<dir>/<name with punctuation dashed>.tar` and answers that path. */
export function writeOciImage(dir: string, spec: ImageSpec): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-image-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    fs.mkdirSync(rootfs);
    for (const f of spec.files) {
      const target = path.join(rootfs, f.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      if ('dir' in f) fs.mkdirSync(target, { recursive: true });
      else if ('symlink' in f) fs.symlinkSync(f.symlink, target);
      else if ('copyOf' in f) fs.copyFileSync(f.copyOf, target);
      else fs.writeFileSync(target, f.data);
      if (f.mode !== undefined && !('symlink' in f)) fs.chmodSync(target, f.mode);
    }
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
    const config = JSON.stringify({
      architecture: spec.architecture ?? goArch(),
      os: 'linux',
      config: { Env: spec.env ?? ['PATH=/bin:/usr/bin:/sbin:/usr/sbin'], Cmd: spec.cmd, Entrypoint: spec.entrypoint },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] },
    });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...put(layer) }],
    });
    const tag = spec.name.slice(spec.name.lastIndexOf(':') + 1);
    const index = {
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...put(manifest),
          annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    };
    fs.writeFileSync(path.join(work, 'layout/index.json'), JSON.stringify(index));
    fs.writeFileSync(path.join(work, 'layout/oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    fs.mkdirSync(dir, { recursive: true });
    const out = path.join(dir, `${spec.name.replace(/[^a-z0-9]+/gi, '-')}.tar`);
    execFileSync('tar', ['-C', path.join(work, 'layout'), '-cf', out, 'oci-layout', 'index.json', 'blobs']);
    return out;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
